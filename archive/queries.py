"""Listing a participant's outbound archive and finding one item."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from exchange.kernel.clock import iso_from_key
from exchange.kernel.paging import Page, Where, cut, decode_cursor, encode_cursor

if TYPE_CHECKING:
    # Types only: the read-side packages depend on the domain and the kernel, not on the exchange's adapters.
    from exchange.readmodels.views import Row, ViewsConnection


@dataclass(frozen=True)
class ArchiveQuery:
    """What a recipient asks of its archive (the recipient is given apart)."""

    start: datetime | None = None
    end: datetime | None = None
    business_function_id: str | None = None
    resource_id: str | None = None
    item_count: int = 100
    cursor: str | None = None


async def list_archive(db: ViewsConnection, recipient: str, query: ArchiveQuery) -> Page[dict[str, Any]]:
    """Items delivered to the caller, newest first."""
    where = Where()
    where.add("recipient = ?", recipient)
    where.equals("business_function_id", query.business_function_id)
    where.equals("resource_id", query.resource_id)
    where.between("delivered_at", query.start, query.end)
    async with db.execute(f"SELECT count(*) FROM archive_items WHERE {where.sql}", where.params) as cursor:  # noqa: S608
        total = int((await cursor.fetchone() or [0])[0])
    if query.cursor is not None:
        where.add("(delivered_at, position) < (?, ?)", *decode_cursor(query.cursor, str, int))
    sql = (
        f"SELECT * FROM archive_items WHERE {where.sql} "  # noqa: S608 - fixed column names
        "ORDER BY delivered_at DESC, position DESC LIMIT ?"
    )
    async with db.execute(sql, [*where.params, query.item_count + 1]) as cursor:
        rows, last = cut(list(await cursor.fetchall()), query.item_count)
    next_cursor = encode_cursor(last["delivered_at"], last["position"]) if last is not None else None
    return Page([item_view(r) for r in rows], next_cursor, total)


async def find_item(db: ViewsConnection, recipient: str, message_context_id: str) -> dict[str, Any] | None:
    async with db.execute(
        "SELECT * FROM archive_items WHERE recipient = ? AND message_context_id = ?", (recipient, message_context_id)
    ) as cursor:
        row = await cursor.fetchone()
    return item_view(row) if row else None


def item_view(row: Row) -> dict[str, Any]:
    return {
        "messageContextId": row["message_context_id"],
        "initiatingParticipantId": row["sender_id"],
        "businessFunctionId": row["business_function_id"],
        "businessFunctionResourceId": row["resource_id"],
        "priority": row["priority"],
        "messageType": row["message_type"],
        "createdDateTime": iso_from_key(row["created_at"]),
        "deliveredDateTime": iso_from_key(row["delivered_at"]),
        "size": row["size"],
    }
