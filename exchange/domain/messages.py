"""A submitted message and its delivery to each recipient: the immutable record of the exchange."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from exchange.domain import ids


class Message(Aggregate):
    """One accepted submission. It never changes: deliveries carry the lifecycle per recipient."""

    @staticmethod
    def create_id(message_context_id: str) -> UUID:
        return ids.message_id(message_context_id)

    @event("Submitted")
    def __init__(
        self,
        message_context_id: str,
        business_function_id: str,
        resource_id: str,
        sender_id: str,
        priority: str,
        message_id: str,
        message_type: str,
        schema_version: str,
        recipients: list[str],
        payload: bytes,
        payload_sha256: str,
        signature: str,
        signer_serial: str,
        received_at: datetime,
        receipt: str,
        hub_signature: str,
    ) -> None:
        self.message_context_id = message_context_id
        self.business_function_id = business_function_id
        self.resource_id = resource_id
        self.sender_id = sender_id
        self.priority = priority
        self.message_id = message_id
        self.message_type = message_type
        self.schema_version = schema_version
        self.recipients = recipients
        self.payload = payload
        self.payload_sha256 = payload_sha256
        self.signature = signature
        self.signer_serial = signer_serial
        self.received_at = received_at
        self.receipt = receipt
        # The hub's re-signature of the payload, handed out with it (queue and archive) ever after.
        self.hub_signature = hub_signature


class Delivery(Aggregate):
    """A message in one recipient's queue: queued, retrieved, then removed or expired."""

    @staticmethod
    def create_id(message_context_id: str, recipient: str) -> UUID:
        return ids.delivery_id(message_context_id, recipient)

    @event("Queued")
    def __init__(
        self,
        message_context_id: str,
        recipient: str,
        business_function_id: str,
        resource_id: str,
        sender_id: str,
        priority: str,
        message_type: str,
        size: int,
        submitted_at: datetime,
        submission_position: int,
        queued_at: datetime,
    ) -> None:
        self.message_context_id = message_context_id
        self.recipient = recipient
        self.business_function_id = business_function_id
        self.resource_id = resource_id
        self.sender_id = sender_id
        self.priority = priority
        self.message_type = message_type
        self.size = size
        self.submitted_at = submitted_at
        self.submission_position = submission_position
        self.queued_at = queued_at
        self.retrieved_count = 0
        self.removed_at: datetime | None = None
        self.recipient_signature: str | None = None

    @property
    def in_queue(self) -> bool:
        return self.removed_at is None

    @event("Retrieved")
    def retrieve(self, retrieved_at: datetime) -> None:
        self.retrieved_count += 1

    class Removed(Aggregate.Event):
        """The recipient deleted the message from its queue, with its signature over `messageContextId|payloadSha256`
        when it gave one.

        Version 1 (stored before deletes could be signed) has no `recipient_signature`; it is read as None.
        """

        removed_at: datetime
        recipient_signature: str | None
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["recipient_signature"] = None

    @event(Removed)
    def remove(self, removed_at: datetime, recipient_signature: str | None = None) -> None:
        self.removed_at = removed_at
        self.recipient_signature = recipient_signature

    @event("Expired")
    def expire(self, expired_at: datetime) -> None:
        self.removed_at = expired_at


class PendingDelivery(Aggregate):
    """A message held by flow control (`delivery_pending`) until its recipient's queue takes it."""

    @staticmethod
    def create_id(message_context_id: str, recipient: str) -> UUID:
        return ids.pending_delivery_id(message_context_id, recipient)

    @event("Held")
    def __init__(
        self,
        message_context_id: str,
        recipient: str,
        business_function_id: str,
        resource_id: str,
        sender_id: str,
        priority: str,
        message_type: str,
        size: int,
        submitted_at: datetime,
        submission_position: int,
        held_at: datetime,
    ) -> None:
        self.message_context_id = message_context_id
        self.recipient = recipient
        self.business_function_id = business_function_id
        self.resource_id = resource_id
        self.sender_id = sender_id
        self.priority = priority
        self.message_type = message_type
        self.size = size
        self.submitted_at = submitted_at
        self.submission_position = submission_position
        self.held_at = held_at
        self.released_at: datetime | None = None

    @event("Released")
    def release(self, released_at: datetime) -> None:
        self.released_at = released_at
