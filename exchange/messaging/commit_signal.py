"""Commits of one process wake the followers of the log in every process of the exchange.

A process's own group commit wakes its followers directly (`GroupCommit.on_commit`). Events another process
committed would otherwise be seen only at the follower's fallback poll (`FALLBACK_POLL`, half a second), which a
message pays on each hop it takes through another process: accepted by one worker, relayed by another, queued by a
third. So each commit is also announced on a plain NATS subject (no JetStream: a lost signal costs only the
fallback poll), and each process pokes its followers when another process announces one.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable

import structlog
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from exchange.kernel.tasks import cancel_and_wait

log = structlog.get_logger(__name__)

SUBJECT = "idx.committed"


class CommitSignal:
    """Announces this process's commits and wakes its followers on every other process's."""

    def __init__(self, nc: NatsClient, wake: Callable[[], None]) -> None:
        self._nc = nc
        self._wake = wake
        # Tells this process's announcements from the others' (its own commits woke its followers already).
        self._origin = secrets.token_bytes(8)
        self._committed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        self._subscription = await self._nc.subscribe(SUBJECT, cb=self._heard)
        # Once the server has the subscription, no commit announced after this start can be missed.
        await self._nc.flush()
        self._task = asyncio.create_task(self._announce(), name="commit-signal")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        if self._subscription is not None:
            with contextlib.suppress(Exception):  # a closed or reconnecting connection: nothing left to undo
                await self._subscription.unsubscribe()

    def committed(self) -> None:
        """A commit of this process (a `GroupCommit.on_commit` listener): announce it soon, once per burst."""
        self._committed.set()

    async def _announce(self) -> None:
        while True:
            await self._committed.wait()
            self._committed.clear()
            try:
                await self._nc.publish(SUBJECT, self._origin)
            except Exception:  # NATS away: the other processes' fallback poll covers it
                log.debug("commit_signal_not_sent", exc_info=True)

    async def _heard(self, message: Msg) -> None:
        if message.data != self._origin:
            self._wake()
