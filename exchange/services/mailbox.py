"""What a recipient does with its queue: list, fetch and delete."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import Aggregate

from exchange.domain.messages import Delivery
from exchange.domain.topics import event_class
from exchange.eventstore.accepted import submitted_at
from exchange.eventstore.ledger import GroupCommit, Ledger
from exchange.functions.registry import Registry
from exchange.kernel.clock import Clock
from exchange.kernel.errors import (
    ConcurrencyError,
    ConflictError,
    FieldError,
    InvalidError,
    MalformedError,
    NotFoundError,
)
from exchange.kernel.paging import CursorError, Page
from exchange.readmodels.projector import Projector
from exchange.readmodels.queue import QueueItem, QueueQuery, list_queue, queued_position
from exchange.readmodels.views import ViewsConnection
from exchange.services.signatures import ParticipantSignatures

_RETRIEVED = event_class(Delivery, "Retrieved")
_REMOVED = event_class(Delivery, "Removed")
# How many deliveries' versions a mailbox remembers (about 250 bytes each): enough for the messages being drained
# at any one time; a forgotten one costs one read of its delivery when its next step is recorded.
REMEMBERED_VERSIONS = 10_000
# A step of a delivery is retried on the fresh state this many times when concurrent steps keep winning.
STEP_ATTEMPTS = 5


@dataclass(frozen=True)
class Fetched:
    payload: bytes
    hub_signature: str
    original_signature: str
    sender_id: str


@dataclass(eq=False)
class Mailbox:
    """Queue use cases. Anything not in the caller's own queue is simply not found."""

    ledger: Ledger
    committer: GroupCommit
    views: ViewsConnection
    queue_projector: Projector
    clock: Clock
    on_removed: Callable[[str, str], Awaitable[None]]
    registry: Registry
    signatures: ParticipantSignatures
    # The version this process last committed of each delivery it changed (Queued is version 1), and whether
    # that step took it out of the queue; newest last.
    _versions: OrderedDict[UUID, tuple[int, bool]] = field(default_factory=OrderedDict, init=False)

    async def list(
        self,
        recipient: str,
        business_function_id: str,
        resource_id: str,
        *,
        priority: str | None = None,
        from_date_time: datetime | None = None,
        to_date_time: datetime | None = None,
        item_count: int = 100,
        cursor: str | None = None,
    ) -> Page[QueueItem]:
        """One page of a queue, by priority and then submission; `cursor` continues where the last page ended."""
        query = QueueQuery(
            recipient, business_function_id, resource_id, priority, from_date_time, to_date_time, item_count, cursor
        )
        try:
            return await list_queue(self.views, query)
        except CursorError as error:
            raise MalformedError(str(error)) from error

    async def fetch(self, recipient: str, bf: str, resource: str, message_context_id: str) -> Fetched:
        """The queued message as submitted; records that the recipient retrieved it."""
        message = await asyncio.to_thread(
            submitted_at, self.ledger, await self._queued(recipient, bf, resource, message_context_id)
        )
        await self._step(
            recipient,
            message_context_id,
            lambda version: _retrieved(recipient, message_context_id, version, self.clock.now()),
        )
        return Fetched(message.payload, message.hub_signature, message.signature, message.sender_id)

    async def delete(
        self, recipient: str, bf: str, resource: str, message_context_id: str, signature: str | None = None
    ) -> None:
        """Remove a message from the recipient's queue, with the recipient's signature over
        `messageContextId|payloadSha256` when given (refused, and the message left queued, unless it verifies)."""
        position = await self._queued(recipient, bf, resource, message_context_id)
        if signature is not None:
            message = await asyncio.to_thread(submitted_at, self.ledger, position)
            await asyncio.to_thread(self._verify_acknowledgement, recipient, message, signature)
        elif self.registry.resource(bf, resource)[1].signed_delete == "required":
            raise InvalidError(
                f"{bf}/{resource} requires signed deletes",
                errors=[
                    FieldError(
                        "x-signature",
                        "required: your signature over the UTF-8 string messageContextId|payloadSha256",
                    )
                ],
            )
        removed = await self._step(
            recipient,
            message_context_id,
            lambda version: _removed(recipient, message_context_id, version, self.clock.now(), signature),
            leaves_queue=True,
        )
        # Answer only once the queue shows the removal, so a list right after the 204 no longer has it.
        await self.queue_projector.wait_for(removed)
        # From here the queue view refuses further steps itself; one that got past it before is refused by the
        # store (its guessed version is taken) and then finds the delivery removed.
        self._versions.pop(Delivery.create_id(message_context_id, recipient), None)
        await self.on_removed(recipient, bf)

    def _verify_acknowledgement(self, recipient: str, message: Any, signature: str) -> None:
        # Nominations and revocations committed before this request apply to it, as for a submission.
        self.signatures.refresh()
        acknowledged = f"{message.message_context_id}|{message.payload_sha256}".encode()
        self.signatures.verify(recipient, signature, acknowledged, self.clock.now())

    async def _step(
        self, recipient: str, message_context_id: str, next_event: Callable[[int], Any], *, leaves_queue: bool = False
    ) -> int:
        """Record the next step of a delivery still in the queue; its position in the log.

        The step is written at the version after the last one this process committed (or after `Queued`), without
        reading the delivery back. Versions never go down, so the guess is never past the next free one: at
        worst it is taken (a concurrent step, one of another process, an expiry) and the store refuses it; then
        the delivery is read and the step tried again on the fresh state. A removal this process recorded is
        remembered as such: the store would take a step after it, so the queue view, which may not show the
        removal yet, is not asked.
        """
        delivery_id = Delivery.create_id(message_context_id, recipient)
        version, gone = self._versions.get(delivery_id, (1, False))
        if gone:
            raise NotFoundError(f"{message_context_id} is not in your queue")
        for _ in range(STEP_ATTEMPTS):
            try:
                recordings = await self.committer.save(cast(Aggregate, _Step(next_event(version + 1))))
            except ConcurrencyError:
                delivery = await asyncio.to_thread(self.ledger.find, Delivery, delivery_id)
                if delivery is None or not delivery.in_queue:
                    raise NotFoundError(f"{message_context_id} is not in your queue") from None
                version = delivery.version
                continue
            self._remember(delivery_id, version + 1, leaves_queue)
            return recordings[-1].notification.id
        raise ConflictError(f"{message_context_id} is being changed by another request; try again")

    def _remember(self, delivery_id: UUID, version: int, gone: bool) -> None:
        self._versions[delivery_id] = (version, gone)
        self._versions.move_to_end(delivery_id)
        if len(self._versions) > REMEMBERED_VERSIONS:
            self._versions.popitem(last=False)

    async def _queued(self, recipient: str, bf: str, resource: str, message_context_id: str) -> int:
        """The log position of the queued message's `Submitted` event, or NotFoundError."""
        position = await queued_position(self.views, recipient, message_context_id, bf, resource)
        if position is None:
            raise NotFoundError(f"{message_context_id} is not in your queue")
        return position


class _Step:
    """One event of a delivery, saved through the group commit as an aggregate's pending events are."""

    def __init__(self, event: Any) -> None:
        self._events = [event]

    def collect_events(self) -> list[Any]:
        events, self._events = self._events, []
        return events


def _retrieved(recipient: str, message_context_id: str, version: int, now: datetime) -> Any:
    return _RETRIEVED(
        originator_id=Delivery.create_id(message_context_id, recipient),
        originator_version=version,
        timestamp=Delivery.Event.create_timestamp(),
        retrieved_at=now,
    )


def _removed(recipient: str, message_context_id: str, version: int, now: datetime, signature: str | None) -> Any:
    return _REMOVED(
        originator_id=Delivery.create_id(message_context_id, recipient),
        originator_version=version,
        timestamp=Delivery.Event.create_timestamp(),
        removed_at=now,
        recipient_signature=signature,
    )
