"""Reconciliation: the messageContextIds a participant sent or received in a time range, and their digest.

Two parties compare one digest before paging: the digest covers the ids of the whole range, sorted and joined by
"\\n", whatever page is asked for. Only accepted messages count (never a rejected submission); what a participant
received is what entered its queue (still there, deleted or expired), not what still waits behind flow control.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from exchange.kernel.paging import Page, Where, cut, decode_cursor, encode_cursor

if TYPE_CHECKING:
    # Types only: the read-side packages depend on the domain and the kernel, not on the exchange's adapters.
    from exchange.readmodels.views import ViewsConnection

Direction = Literal["sent", "received"]


@dataclass(frozen=True)
class ReconcileQuery:
    participant_id: str
    direction: Direction
    from_date_time: datetime | None = None
    to_date_time: datetime | None = None
    item_count: int = 100
    cursor: str | None = None


@dataclass(frozen=True)
class Reconciliation:
    count: int
    digest: str
    page: Page[str]


def _where(query: ReconcileQuery) -> Where:
    where = Where()
    where.add("message_type = 'message'")
    if query.direction == "sent":
        where.add("initiating_participant_id = ? AND status != 'message_rejected'", query.participant_id)
    else:
        where.add(
            "receiving_participant_id = ? AND status IN ('completed', 'removed', 'expired')", query.participant_id
        )
    where.between("created_at", query.from_date_time, query.to_date_time)
    return where


async def reconcile(db: ViewsConnection, query: ReconcileQuery) -> Reconciliation:
    """The count and digest of the whole range, and one page of its ids in ascending order.

    Raises CursorError for a cursor this listing did not hand out.
    """
    where = _where(query)
    digest = hashlib.sha256()
    count = 0
    # The views compare TEXT byte by byte (SQLite's BINARY collation, PostgreSQL's "C"): for these ASCII ids,
    # Python's string order.
    async with db.execute(
        f"SELECT DISTINCT message_context_id FROM translog_rows WHERE {where.sql} ORDER BY message_context_id",  # noqa: S608
        where.params,
    ) as cursor:
        async for row in cursor:
            digest.update((b"\n" if count else b"") + row[0].encode())
            count += 1
    if query.cursor is not None:
        (after,) = decode_cursor(query.cursor, str)
        where.add("message_context_id > ?", after)
    async with db.execute(
        f"SELECT DISTINCT message_context_id FROM translog_rows WHERE {where.sql} "  # noqa: S608
        "ORDER BY message_context_id LIMIT ?",
        [*where.params, query.item_count + 1],
    ) as cursor:
        ids, last = cut([row[0] for row in await cursor.fetchall()], query.item_count)
    return Reconciliation(count, digest.hexdigest(), Page(ids, encode_cursor(last) if last else None, count))
