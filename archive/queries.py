"""Listing a participant's outbound archive and finding one item."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from exchange.kernel.clock import iso, utc_key


class ArchiveQueryError(ValueError):
    """A cursor this archive did not hand out."""


@dataclass(frozen=True)
class ArchiveQuery:
    recipient: str
    start: datetime | None = None
    end: datetime | None = None
    business_function_id: str | None = None
    resource_id: str | None = None
    item_count: int = 100
    cursor: str | None = None


@dataclass(frozen=True)
class ArchivePage:
    items: list[dict[str, Any]]
    next_cursor: str | None
    total_records: int


async def list_archive(db: aiosqlite.Connection, query: ArchiveQuery) -> ArchivePage:
    """Items delivered to the caller, newest first."""
    where: list[str] = ["recipient = ?"]
    params: list[Any] = [query.recipient]
    for column, value in (("business_function_id", query.business_function_id), ("resource_id", query.resource_id)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if query.start is not None:
        where.append("delivered_at >= ?")
        params.append(utc_key(query.start))
    if query.end is not None:
        where.append("delivered_at <= ?")
        params.append(utc_key(query.end))
    async with db.execute(f"SELECT count(*) FROM archive_items WHERE {' AND '.join(where)}", params) as cursor:  # noqa: S608
        total = int((await cursor.fetchone() or [0])[0])
    if query.cursor is not None:
        delivered_at, position = _decode(query.cursor)
        where.append("(delivered_at, position) < (?, ?)")
        params.extend([delivered_at, position])
    sql = (
        f"SELECT * FROM archive_items WHERE {' AND '.join(where)} "  # noqa: S608 - fixed column names
        "ORDER BY delivered_at DESC, position DESC LIMIT ?"
    )
    async with db.execute(sql, [*params, query.item_count + 1]) as cursor:
        rows = list(await cursor.fetchall())
    more = len(rows) > query.item_count
    rows = rows[: query.item_count]
    next_cursor = _encode(rows[-1]["delivered_at"], rows[-1]["position"]) if more else None
    return ArchivePage([item_view(r) for r in rows], next_cursor, total)


async def find_item(db: aiosqlite.Connection, recipient: str, message_context_id: str) -> dict[str, Any] | None:
    async with db.execute(
        "SELECT * FROM archive_items WHERE recipient = ? AND message_context_id = ?", (recipient, message_context_id)
    ) as cursor:
        row = await cursor.fetchone()
    return item_view(row) if row else None


def item_view(row: aiosqlite.Row) -> dict[str, Any]:
    return {
        "messageContextId": row["message_context_id"],
        "initiatingParticipantId": row["sender_id"],
        "businessFunctionId": row["business_function_id"],
        "businessFunctionResourceId": row["resource_id"],
        "priority": row["priority"],
        "messageType": row["message_type"],
        "createdDateTime": iso(datetime.fromisoformat(row["created_at"])),
        "deliveredDateTime": iso(datetime.fromisoformat(row["delivered_at"])),
        "size": row["size"],
    }


def _encode(delivered_at: str, position: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([delivered_at, position]).encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, int]:
    try:
        delivered_at, position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, TypeError) as error:
        raise ArchiveQueryError(f"cursor {cursor!r} is not one this exchange handed out") from error
    if not (isinstance(delivered_at, str) and isinstance(position, int) and 0 <= position < 2**63):
        raise ArchiveQueryError(f"cursor {cursor!r} is not one this exchange handed out")
    return delivered_at, position
