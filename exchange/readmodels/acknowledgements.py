"""Acknowledgements: each recipient's deletion of a message, with the signature it gave, for the message's sender.

A projection of the delivery events: `Queued` says whose message went to whom (a `Removed` event names only its
delivery), `Removed` when the recipient deleted it and with which signature (None for an unsigned delete,
including every delete stored before deletes could be signed). Rows are keyed by delivery, so rebuilding from
zero gives identical contents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from exchange.domain.messages import Delivery
from exchange.domain.topics import event_class, topic_of
from exchange.kernel.clock import utc_key
from exchange.kernel.projections import ViewsOnly
from exchange.readmodels.projector import Projector
from exchange.readmodels.views import ViewsConnection

_QUEUED = event_class(Delivery, "Queued")


@dataclass(frozen=True)
class Acknowledgement:
    recipient: str
    deleted_at: datetime
    # The recipient's `x-signature` over `messageContextId|payloadSha256`; None for an unsigned delete.
    signature: str | None


@dataclass(frozen=True)
class Acknowledged:
    """The deliveries of one message: its sender, and the recipients that deleted it so far."""

    sender_id: str
    acknowledgements: list[Acknowledgement]


class AcknowledgementsProjection(ViewsOnly):
    name = "acknowledgements"
    schema = """
CREATE TABLE IF NOT EXISTS acknowledgements (
    delivery_id TEXT PRIMARY KEY,
    message_context_id TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    deleted_at TEXT,
    signature TEXT,
    position INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS acknowledgements_context ON acknowledgements (message_context_id);
"""
    topics = (topic_of(Delivery, "Queued"), topic_of(Delivery, "Removed"))

    async def handle(self, db: ViewsConnection, events: list[tuple[int, Any]]) -> None:
        # A delivery is queued before it can be removed, so inserting every row of the batch before any update
        # gives what applying the events one by one gives.
        queued = [
            (e.originator_id.hex, e.message_context_id, e.sender_id, e.recipient, position)
            for position, e in events
            if isinstance(e, _QUEUED)
        ]
        removed = [
            (utc_key(e.removed_at), e.recipient_signature, e.originator_id.hex)
            for _, e in events
            if not isinstance(e, _QUEUED)
        ]
        if queued:
            await db.executemany(
                "INSERT INTO acknowledgements VALUES (?, ?, ?, ?, NULL, NULL, ?) ON CONFLICT DO NOTHING", queued
            )
        if removed:
            await db.executemany(
                "UPDATE acknowledgements SET deleted_at = ?, signature = ? WHERE delivery_id = ?", removed
            )


class Acknowledgements:
    """Who deleted a message and how, up to date with everything committed before it is asked."""

    def __init__(self, db: ViewsConnection, projector: Projector) -> None:
        self._db = db
        self._projector = projector

    async def of(self, message_context_id: str) -> Acknowledged | None:
        """The message's sender and its deletions, oldest first; None when it never entered a queue."""
        await self._projector.wait_for_latest()
        async with self._db.execute(
            "SELECT sender_id, recipient, deleted_at, signature FROM acknowledgements "
            "WHERE message_context_id = ? ORDER BY position, delivery_id",
            (message_context_id,),
        ) as cursor:
            rows = list(await cursor.fetchall())
        if not rows:
            return None
        deleted = sorted(
            (r for r in rows if r["deleted_at"] is not None), key=lambda r: (r["deleted_at"], r["recipient"])
        )
        return Acknowledged(
            rows[0]["sender_id"],
            [Acknowledgement(r["recipient"], datetime.fromisoformat(r["deleted_at"]), r["signature"]) for r in deleted],
        )
