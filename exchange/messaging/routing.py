"""From the ledger to the recipients' queues through NATS JetStream (the transactional outbox pattern).

The relay follows the notification log and publishes one route per recipient, with `Nats-Msg-Id` so that a
replay after a crash is dropped by JetStream. The deliverer consumes routes and records each delivery as an
event whose id is derived from (message, recipient): a route seen twice can only ever create one delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import nats.errors
import nats.js.errors
import structlog
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from exchange.domain.messages import Message, MessageFacts
from exchange.domain.topics import topic_of
from exchange.kernel.tasks import cancel_and_wait
from exchange.messaging.streams import Publication, ensure_file_stream, publish_confirmed
from exchange.readmodels.views import ViewsConnection

log = structlog.get_logger(__name__)

STREAM = "IDX_DELIVERY"
DURABLE = "deliverer"
MAX_ACK_PENDING = 20_000
RECOVERY_BATCH = 256
FETCH_BATCH = 256
# Batches decided at once: the next batch is fetched while one is decided, and their deliveries can share a
# group commit. A route is decided once however batches overlap (the gate's per-queue locks and delivery ids).
BATCHES_IN_FLIGHT = 2
SUBJECT_PREFIX = "idx.deliver"
# How often a deliverer whose lease another process holds looks whether it is its turn.
LEASE_POLL = 0.25  # seconds
QUEUE_RETENTION_SECONDS = 10 * 24 * 3600


@dataclass
class Route(MessageFacts):
    """One message on its way to one recipient (msgspec encodes it as the JSON object of its fields)."""

    position: int


_encode = msgspec.json.Encoder().encode
_decode_route = msgspec.json.Decoder(Route).decode


async def ensure_stream(js: JetStreamContext, replicas: int = 1) -> None:
    # Dedupe covers a relay restart; a longer outage is covered by the deliveries' derived ids.
    await ensure_file_stream(js, STREAM, SUBJECT_PREFIX, QUEUE_RETENTION_SECONDS, replicas)


def routes_of(position: int, submitted: Any) -> list[Route]:
    """One route per recipient of a submitted message (a `Message.Submitted` event at `position` in the log)."""
    return [
        Route(
            message_context_id=submitted.message_context_id,
            recipient=recipient,
            business_function_id=submitted.business_function_id,
            resource_id=submitted.resource_id,
            sender_id=submitted.sender_id,
            priority=submitted.priority,
            message_type=submitted.message_type,
            size=len(submitted.payload),
            submitted_at=submitted.received_at,
            position=position,
        )
        for recipient in submitted.recipients
    ]


class Relay:
    """Publishes every submitted message to JetStream, once per recipient (a Projector handler)."""

    name = "relay"
    schema = ""
    topics = (topic_of(Message, "Submitted"),)

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    async def act(self, events: list[tuple[int, Any]]) -> None:
        publications = []
        for position, event in events:
            for route in routes_of(position, event):
                subject = f"{SUBJECT_PREFIX}.{route.recipient}.{route.business_function_id}.{route.resource_id}"
                msg_id = f"{route.message_context_id}|{route.recipient}"
                publications.append(Publication(subject, _encode(route), msg_id))
        # Retried with the same ids through a leader change of a clustered stream: JetStream drops the copies.
        await publish_confirmed(self._js, publications)

    async def handle(self, db: ViewsConnection, events: list[tuple[int, Any]]) -> None:
        """Nothing to write: the relay's only view is its tracked position."""


class Deliverer:
    """Consumes routes and hands them to the delivery gate, which queues or holds each exactly once.

    With several processes it fetches only while `leased()` says this process holds the deliverer's lease: one
    consumer deciding routes in order keeps a recipient's messages in order. Each time it takes the lease it first
    decides the routes its predecessor fetched and never acknowledged, before any newer one.
    """

    def __init__(
        self,
        js: JetStreamContext,
        arrive: Callable[[list[Route]], Awaitable[None]],
        leased: Callable[[], bool] = lambda: True,
        taken: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._js = js
        self._arrive = arrive
        self._leased = leased
        # Run each time the lease is taken, after the unacknowledged routes are decided.
        self._taken = taken
        self._task: asyncio.Task[None] | None = None
        self._subscription: JetStreamContext.PullSubscription | None = None
        self._stopping = False
        self._in_flight: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._stopping = False
        subscription = await self._js.pull_subscribe(
            f"{SUBJECT_PREFIX}.>",
            durable=DURABLE,
            stream=STREAM,
            # Routes fetched by a process that died come back after ack_wait: short, so recovery is quick.
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=10, max_ack_pending=MAX_ACK_PENDING),
        )
        self._subscription = subscription
        self._task = asyncio.create_task(self._run(subscription), name="deliverer")

    async def stop(self) -> None:
        self._stopping = True
        # A cancellation can be lost inside a fetch (nats-py turns one into ConnectionClosedError).
        await cancel_and_wait(self._task)
        for batch in list(self._in_flight):
            await cancel_and_wait(batch)
        if self._subscription is not None:
            # A cancelled fetch leaves its pull subscription behind, and the connection would not drain.
            with contextlib.suppress(Exception):
                await self._subscription.unsubscribe()
            self._subscription = None

    async def _run(self, subscription: JetStreamContext.PullSubscription) -> None:
        recovered = False
        while not self._stopping:
            if not self._leased():
                recovered = False
                await asyncio.sleep(LEASE_POLL)
                continue
            if not recovered:
                recovered = True
                try:
                    await self._recover_unacknowledged()
                except Exception:
                    log.exception("route_recovery_failed")  # JetStream's own redelivery remains
                if self._taken is not None:
                    try:
                        await self._taken()
                    except Exception:
                        log.exception("deliverer_takeover_failed")
            try:
                messages = await subscription.fetch(FETCH_BATCH, timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            except asyncio.CancelledError:
                raise
            except (nats.js.errors.ServiceUnavailableError, nats.errors.NoRespondersError) as error:
                # The consumer has no leader for now (a cluster electing one after losing a node): expected.
                log.warning("route_fetch_unavailable", error=repr(error))
                await asyncio.sleep(1.0)
                continue
            except Exception:
                log.exception("route_fetch_failed")
                await asyncio.sleep(1.0)
                continue
            batch = asyncio.create_task(self._deliver(messages), name="deliver-batch")
            self._in_flight.add(batch)
            batch.add_done_callback(self._in_flight.discard)
            if len(self._in_flight) >= BATCHES_IN_FLIGHT:
                await asyncio.wait(set(self._in_flight), return_when=asyncio.FIRST_COMPLETED)

    async def _recover_unacknowledged(self) -> None:
        """Decide the routes handed out before a crash and never acknowledged, reading them from the stream.

        After `kill -9` of nats-server, JetStream restores such routes as pending and should hand them out again
        once `ack_wait` passes; it was seen not to, leaving them waiting for ever. So the deliverer reads
        everything between the consumer's ack floor and its last delivery itself. Deciding a route twice is
        harmless (the gate queues or holds each message once per recipient); the later redelivery is acked.
        """
        info = await self._js.consumer_info(STREAM, DURABLE)
        first = info.ack_floor.stream_seq + 1 if info.ack_floor and info.ack_floor.stream_seq else 1
        last = info.delivered.stream_seq if info.delivered and info.delivered.stream_seq else 0
        routes: list[Route] = []
        for sequence in range(first, min(last, first + MAX_ACK_PENDING) + 1):
            try:
                stored = await self._js.get_msg(STREAM, sequence)
            except nats.js.errors.NotFoundError:
                continue  # removed by the stream's age limit
            if stored.data:
                routes.append(_decode_route(stored.data))
            if len(routes) >= RECOVERY_BATCH:
                await self._arrive(routes)
                routes = []
        if routes:
            await self._arrive(routes)
        if last >= first:
            log.info("routes_recovered", fromSequence=first, toSequence=last)

    async def _deliver(self, messages: list[Any]) -> None:
        routes = [_decode_route(m.data) for m in messages]
        try:
            await self._arrive(routes)
        except Exception:
            # Nothing of a failed decision was committed; the routes come back and are decided again.
            log.exception("delivery_failed", routes=len(routes))
            for message in messages:
                with contextlib.suppress(Exception):
                    await message.nak(delay=1)
            return
        # Acks are plain publishes: sent together, they leave in one write to the server. An ack lost to a
        # reconnect or a leader change only brings the route back once more, decided again harmlessly; an error
        # here must not end the deliverer.
        await asyncio.gather(*(message.ack() for message in messages), return_exceptions=True)
