"""The outbound archive as a projection: a row per delivery, gone only through a recorded purge."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from exchange.domain.messages import Delivery
from exchange.domain.retention import ArchivePurge
from exchange.domain.topics import event_class, topic_of
from exchange.kernel.clock import utc_key
from exchange.kernel.projections import DELIVERY_HEADER_COLUMNS, ViewsOnly

if TYPE_CHECKING:
    # Types only: the read-side packages depend on the domain and the kernel, not on the exchange's adapters.
    from exchange.readmodels.views import ViewsConnection

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS archive_items (
    delivery_id TEXT PRIMARY KEY,{DELIVERY_HEADER_COLUMNS}
    message_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    delivered_at TEXT NOT NULL,
    position INTEGER NOT NULL
);
-- A participant lists its own archive by delivery time; retention purges by function and age.
CREATE INDEX IF NOT EXISTS archive_recipient ON archive_items (recipient, delivered_at, position);
CREATE UNIQUE INDEX IF NOT EXISTS archive_message ON archive_items (recipient, message_context_id);
CREATE INDEX IF NOT EXISTS archive_retention ON archive_items (business_function_id, resource_id, delivered_at);
"""

_QUEUED = event_class(Delivery, "Queued")
_PURGED = event_class(ArchivePurge, "Purged")


class ArchiveProjection(ViewsOnly):
    name = "archive"
    schema = SCHEMA
    topics = (topic_of(Delivery, "Queued"), topic_of(ArchivePurge, "Purged"))

    async def handle(self, db: ViewsConnection, events: list[tuple[int, Any]]) -> None:
        # One statement per run of deliveries rather than one per delivery: the other followers wait for the file
        # meanwhile. A purge ends a run, since it may remove a delivery queued before it in the same batch.
        rows: list[tuple[Any, ...]] = []
        for position, event in events:
            if isinstance(event, _QUEUED):
                rows.append(
                    (
                        event.originator_id.hex, event.recipient, event.message_context_id,
                        event.business_function_id, event.resource_id, event.sender_id, event.priority,
                        event.message_type, event.size, utc_key(event.submitted_at), utc_key(event.queued_at),
                        position,
                    ),
                )  # fmt: skip
            elif isinstance(event, _PURGED):
                await _insert(db, rows)
                rows = []
                await db.executemany(
                    "DELETE FROM archive_items WHERE delivery_id = ?", [(d,) for d in event.delivery_ids]
                )
        await _insert(db, rows)


async def _insert(db: ViewsConnection, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        await db.executemany("INSERT INTO archive_items VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING", rows)
