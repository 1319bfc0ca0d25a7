"""A submitted message and its delivery to each recipient: the immutable record of the exchange.

The aggregates are declared as dataclasses: eventsourcing builds each created event ("Submitted",
"Queued", "Held") from the generated ``__init__``, so the fields below are the stored events' fields,
by name, for ever. Rename none of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from exchange.domain import ids


@dataclass(eq=False, repr=False)
class Message(Aggregate, created_event_name="Submitted"):
    """One accepted submission. It never changes: deliveries carry the lifecycle per recipient."""

    message_context_id: str
    business_function_id: str
    resource_id: str
    sender_id: str
    priority: str
    message_id: str
    message_type: str
    schema_version: str
    recipients: list[str]
    payload: bytes
    payload_sha256: str
    signature: str
    signer_serial: str
    received_at: datetime
    receipt: str
    # The hub's re-signature of the payload, handed out with it (queue and archive) ever after.
    hub_signature: str

    @staticmethod
    def create_id(message_context_id: str) -> UUID:
        return ids.message_id(message_context_id)


class MessageHeading(Protocol):
    """Who sends a message, for which function and resource, under which id and priority: a submission's headers,
    or a message a plugin hands on."""

    @property
    def message_context_id(self) -> str: ...
    @property
    def business_function_id(self) -> str: ...
    @property
    def resource_id(self) -> str: ...
    @property
    def sender_id(self) -> str: ...
    @property
    def priority(self) -> str: ...


@dataclass(frozen=True)
class HubStamp:
    """What the hub adds to a message it accepts: when, the payload's digest, the receipt and its re-signature."""

    received_at: datetime
    payload_sha256: str
    receipt: str
    hub_signature: str


def accepted_message(
    heading: MessageHeading,
    stamp: HubStamp,
    *,
    message_id: str,
    message_type: str,
    schema_version: str,
    recipients: Iterable[str],
    payload: bytes,
    signature: str = "",
    signer_serial: str = "",
) -> Message:
    """The one way a message is made, whether a participant submitted it or a plugin hands it on.

    A message without a CMS signature (a plugin's, sent on a verified token) has empty `signature` and `signer_serial`.
    """
    return Message(
        message_context_id=heading.message_context_id,
        business_function_id=heading.business_function_id,
        resource_id=heading.resource_id,
        sender_id=heading.sender_id,
        priority=heading.priority,
        message_id=message_id,
        message_type=message_type,
        schema_version=schema_version,
        recipients=list(recipients),
        payload=payload,
        payload_sha256=stamp.payload_sha256,
        signature=signature,
        signer_serial=signer_serial,
        received_at=stamp.received_at,
        receipt=stamp.receipt,
        hub_signature=stamp.hub_signature,
    )


@dataclass
class MessageFacts:
    """What a route and a delivery, queued or held, know of the message they carry to one recipient."""

    message_context_id: str
    recipient: str
    business_function_id: str
    resource_id: str
    sender_id: str
    priority: str
    message_type: str
    size: int
    submitted_at: datetime


@dataclass
class RoutedMessage(MessageFacts):
    """The facts a queued and a held delivery both record: the message's, and its place in the log."""

    submission_position: int


@dataclass(eq=False, repr=False)
class Delivery(RoutedMessage, Aggregate, created_event_name="Queued"):
    """A message in one recipient's queue: queued, retrieved, then removed or expired."""

    queued_at: datetime
    retrieved_count: int = field(default=0, init=False)
    removed_at: datetime | None = field(default=None, init=False)
    recipient_signature: str | None = field(default=None, init=False)

    @staticmethod
    def create_id(message_context_id: str, recipient: str) -> UUID:
        return ids.delivery_id(message_context_id, recipient)

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


@dataclass(eq=False, repr=False)
class PendingDelivery(RoutedMessage, Aggregate, created_event_name="Held"):
    """A message held by flow control (`delivery_pending`) until its recipient's queue takes it."""

    held_at: datetime
    released_at: datetime | None = field(default=None, init=False)

    @staticmethod
    def create_id(message_context_id: str, recipient: str) -> UUID:
        return ids.pending_delivery_id(message_context_id, recipient)

    @event("Released")
    def release(self, released_at: datetime) -> None:
        self.released_at = released_at
