"""Participants' queues: a projection of delivery events, and the queries of the list call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from exchange.domain.messages import Delivery, PendingDelivery
from exchange.domain.topics import event_class, topic_of
from exchange.kernel.clock import iso_from_key, utc_key
from exchange.kernel.formats import PRIORITY_RANK
from exchange.kernel.paging import Page, Where, cut, decode_cursor, encode_cursor
from exchange.kernel.projections import DELIVERY_HEADER_COLUMNS, ViewsOnly
from exchange.readmodels.views import ViewsConnection

_QUEUED = event_class(Delivery, "Queued")
_LEFT = (event_class(Delivery, "Removed"), event_class(Delivery, "Expired"))
_HELD = event_class(PendingDelivery, "Held")
_RELEASED = event_class(PendingDelivery, "Released")


class QueueProjection(ViewsOnly):
    """Keeps `queue_items` equal to the deliveries in queues, and `pending_items` to those flow control holds."""

    name = "queue"
    schema = f"""
CREATE TABLE IF NOT EXISTS queue_items (
    delivery_id TEXT NOT NULL UNIQUE,{DELIVERY_HEADER_COLUMNS}
    priority_rank INTEGER NOT NULL,
    message_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    submitted_at TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (recipient, message_context_id)
);
-- The list call filters on the queue (recipient, function, resource) and orders by priority, then submission.
CREATE INDEX IF NOT EXISTS queue_items_order
    ON queue_items (recipient, business_function_id, resource_id, priority_rank, position);
-- Expiry looks for the oldest entries of every queue.
CREATE INDEX IF NOT EXISTS queue_items_age ON queue_items (queued_at);
CREATE TABLE IF NOT EXISTS pending_items (
    pending_id TEXT PRIMARY KEY,
    recipient TEXT NOT NULL,
    message_context_id TEXT NOT NULL,
    business_function_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    priority_rank INTEGER NOT NULL,
    position INTEGER NOT NULL
);
-- Release order: priority, then submission.
CREATE INDEX IF NOT EXISTS pending_items_order
    ON pending_items (recipient, business_function_id, priority_rank, position);
"""
    topics = (
        topic_of(Delivery, "Queued"),
        topic_of(Delivery, "Removed"),
        topic_of(Delivery, "Expired"),
        topic_of(PendingDelivery, "Held"),
        topic_of(PendingDelivery, "Released"),
    )

    async def handle(self, db: ViewsConnection, events: list[tuple[int, Any]]) -> None:
        # A delivery or held message is created before it can leave, and never comes back under the same id, so
        # writing every row of the batch before any removal gives what applying the events one by one gives.
        queued, left, held, released = [], [], [], []
        for _, event in events:
            if isinstance(event, _QUEUED):
                queued.append(
                    (
                        event.originator_id.hex, event.recipient, event.message_context_id,
                        event.business_function_id, event.resource_id, event.sender_id, event.priority,
                        PRIORITY_RANK[event.priority], event.message_type, event.size, utc_key(event.submitted_at),
                        utc_key(event.queued_at), event.submission_position,
                    )
                )  # fmt: skip
            elif isinstance(event, _LEFT):
                left.append((event.originator_id.hex,))
            elif isinstance(event, _HELD):
                held.append(
                    (
                        event.originator_id.hex, event.recipient, event.message_context_id,
                        event.business_function_id, event.resource_id, PRIORITY_RANK[event.priority],
                        event.submission_position,
                    )
                )  # fmt: skip
            elif isinstance(event, _RELEASED):
                released.append((event.originator_id.hex,))
        if queued:
            await db.executemany(
                "INSERT INTO queue_items VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING", queued
            )
        if held:
            await db.executemany("INSERT INTO pending_items VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING", held)
        if left:
            await db.executemany("DELETE FROM queue_items WHERE delivery_id = ?", left)
        if released:
            await db.executemany("DELETE FROM pending_items WHERE pending_id = ?", released)


class QueueItem(msgspec.Struct, rename="camel"):
    message_context_id: str
    initiating_participant_id: str
    priority: str
    message_type: str
    created_date_time: str
    queued_date_time: str
    size: int


@dataclass(frozen=True)
class QueueQuery:
    recipient: str
    business_function_id: str
    resource_id: str
    priority: str | None = None
    from_date_time: datetime | None = None
    to_date_time: datetime | None = None
    item_count: int = 100
    cursor: str | None = None


async def list_queue(db: ViewsConnection, query: QueueQuery) -> Page[QueueItem]:
    """A page of the caller's queue, High before Medium before Low, oldest first within a priority."""
    where = Where()
    where.add("recipient = ?", query.recipient)
    where.add("business_function_id = ?", query.business_function_id)
    where.add("resource_id = ?", query.resource_id)
    where.equals("priority", query.priority)
    where.between("submitted_at", query.from_date_time, query.to_date_time)
    async with db.execute(f"SELECT count(*) FROM queue_items WHERE {where.sql}", where.params) as cursor:  # noqa: S608
        row = await cursor.fetchone()
    total = int(row[0]) if row else 0
    if query.cursor is not None:
        where.add("(priority_rank, position) > (?, ?)", *decode_cursor(query.cursor, int, int))
    sql = (
        f"SELECT * FROM queue_items WHERE {where.sql} "  # noqa: S608 - only fixed column names
        "ORDER BY priority_rank, position LIMIT ?"
    )
    async with db.execute(sql, [*where.params, query.item_count + 1]) as cursor:
        rows, last = cut(list(await cursor.fetchall()), query.item_count)
    items = [
        QueueItem(
            message_context_id=r["message_context_id"],
            initiating_participant_id=r["sender_id"],
            priority=r["priority"],
            message_type=r["message_type"],
            created_date_time=iso_from_key(r["submitted_at"]),
            queued_date_time=iso_from_key(r["queued_at"]),
            size=r["size"],
        )
        for r in rows
    ]
    next_cursor = encode_cursor(last["priority_rank"], last["position"]) if last is not None else None
    return Page(items=items, next_cursor=next_cursor, total_records=total)


async def is_queued(db: ViewsConnection, recipient: str, message_context_id: str, bf: str, resource: str) -> bool:
    async with db.execute(
        "SELECT 1 FROM queue_items WHERE recipient = ? AND message_context_id = ? "
        "AND business_function_id = ? AND resource_id = ?",
        (recipient, message_context_id, bf, resource),
    ) as cursor:
        return await cursor.fetchone() is not None


async def queued_position(
    db: ViewsConnection, recipient: str, message_context_id: str, bf: str, resource: str
) -> int | None:
    """Where the queued message's `Submitted` event is in the log, or None when it is not in this queue."""
    async with db.execute(
        "SELECT position FROM queue_items WHERE recipient = ? AND message_context_id = ? "
        "AND business_function_id = ? AND resource_id = ?",
        (recipient, message_context_id, bf, resource),
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else int(row[0])
