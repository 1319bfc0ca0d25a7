"""What a recipient does with its queue: list, fetch and delete."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from uuid import UUID

import aiosqlite

from exchange.domain.messages import Delivery, Message
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
from exchange.readmodels.queue import QueueItem, QueueQuery, is_queued, list_queue
from exchange.services.signatures import ParticipantSignatures

A = TypeVar("A", Message, Delivery)


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
    views: aiosqlite.Connection
    queue_projector: Projector
    clock: Clock
    on_removed: Callable[[str, str], Awaitable[None]]
    registry: Registry
    signatures: ParticipantSignatures

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
        await self._require_queued(recipient, bf, resource, message_context_id)
        message = await self._find(Message, Message.create_id(message_context_id), message_context_id)
        await self._change_delivery(recipient, message_context_id, lambda d: d.retrieve(retrieved_at=self.clock.now()))
        return Fetched(message.payload, message.hub_signature, message.signature, message.sender_id)

    async def delete(
        self, recipient: str, bf: str, resource: str, message_context_id: str, signature: str | None = None
    ) -> None:
        """Remove a message from the recipient's queue, with the recipient's signature over
        `messageContextId|payloadSha256` when given (refused, and the message left queued, unless it verifies)."""
        await self._require_queued(recipient, bf, resource, message_context_id)
        if signature is not None:
            message = await self._find(Message, Message.create_id(message_context_id), message_context_id)
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
        position = await self._change_delivery(
            recipient,
            message_context_id,
            lambda d: d.remove(removed_at=self.clock.now(), recipient_signature=signature),
        )
        # Answer only once the queue shows the removal, so a list right after the 204 no longer has it.
        await self.queue_projector.wait_for(position)
        await self.on_removed(recipient, bf)

    def _verify_acknowledgement(self, recipient: str, message: Message, signature: str) -> None:
        # Nominations and revocations committed before this request apply to it, as for a submission.
        self.signatures.refresh()
        acknowledged = f"{message.message_context_id}|{message.payload_sha256}".encode()
        self.signatures.verify(recipient, signature, acknowledged, self.clock.now())

    async def _change_delivery(
        self, recipient: str, message_context_id: str, change: Callable[[Delivery], None]
    ) -> int:
        """Record one step of a delivery that is still queued; a concurrent step (say, a second DELETE) is
        detected by the store's optimistic concurrency and the step is tried again on the fresh state."""
        delivery_id = Delivery.create_id(message_context_id, recipient)
        for _ in range(5):
            delivery = await self._find(Delivery, delivery_id, message_context_id)
            if not delivery.in_queue:
                raise NotFoundError(f"{message_context_id} is not in your queue")
            change(delivery)
            try:
                recordings = await self.committer.save(delivery)
            except ConcurrencyError:
                continue
            return recordings[-1].notification.id
        raise ConflictError(f"{message_context_id} is being changed by another request; try again")

    async def _require_queued(self, recipient: str, bf: str, resource: str, message_context_id: str) -> None:
        if not await is_queued(self.views, recipient, message_context_id, bf, resource):
            raise NotFoundError(f"{message_context_id} is not in your queue")

    async def _find(self, cls: type[A], aggregate_id: UUID, context_id: str) -> A:
        found = await asyncio.to_thread(self.ledger.find, cls, aggregate_id)
        if found is None:
            raise NotFoundError(f"{context_id} is not in your queue")
        return found
