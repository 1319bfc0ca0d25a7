"""Recounts of a recipient's queue, asked of the process that decides deliveries.

With several processes on one database, only the holder of the deliverer's lease decides what enters a queue
(see exchange.services.delivery_gate). A removal in another process asks it for a recount over core NATS: every
process hears the request and the holder acts on it. Plain NATS is enough: a request sent while no process holds
the lease is covered by the recount of every queue the next holder makes when it takes the lease.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import msgspec
import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

log = structlog.get_logger(__name__)

SUBJECT = "idx.gate.recount"

_decode = msgspec.json.Decoder(tuple[str, str]).decode


class Recounts:
    """Sends recount requests, and hands those it hears to `settle` while `leased()` says this process decides."""

    def __init__(
        self, nc: NatsClient, settle: Callable[[str, str], Awaitable[None]], leased: Callable[[], bool]
    ) -> None:
        self._nc = nc
        self._settle = settle
        self._leased = leased
        self._subscription: Subscription | None = None
        self._running: set[asyncio.Task[None]] = set()

    async def ask(self, participant_id: str, business_function_id: str) -> None:
        """Ask the deciding process to recount this queue (the removal is committed already)."""
        try:
            await self._nc.publish(SUBJECT, msgspec.json.encode((participant_id, business_function_id)))
        except Exception:  # the removal stands; the queue is recounted at its next removal or the next takeover
            log.warning("recount_request_failed", participantId=participant_id, businessFunctionId=business_function_id)

    async def start(self) -> None:
        self._subscription = await self._nc.subscribe(SUBJECT, cb=self._heard)

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()
            self._subscription = None
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def _heard(self, msg: Msg) -> None:
        if not self._leased():
            return
        try:
            participant_id, business_function_id = _decode(msg.data)
        except msgspec.ValidationError:
            log.warning("recount_request_refused", data=msg.data[:200])
            return
        # In a task of its own: the subscription hands over its messages one at a time, and a recount waits for
        # the queue view.
        task = asyncio.create_task(self._recount(participant_id, business_function_id), name="recount")
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _recount(self, participant_id: str, business_function_id: str) -> None:
        try:
            await self._settle(participant_id, business_function_id)
        except Exception:
            log.exception("recount_failed", participantId=participant_id, businessFunctionId=business_function_id)
