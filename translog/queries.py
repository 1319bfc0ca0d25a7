"""Searching the transaction log: filters, sort, keyset paging, and who may see which rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from exchange.kernel.clock import iso_from_key
from exchange.kernel.paging import CursorError, Page, Where, cut, decode_cursor, encode_cursor

if TYPE_CHECKING:
    # Types only: the read-side packages depend on the domain and the kernel, not on the exchange's adapters.
    from exchange.readmodels.views import Row, ViewsConnection

# API field name -> column. Sorting by priority follows its rank, not its spelling.
COLUMNS = {
    "transactionId": "transaction_id",
    "messageContextId": "message_context_id",
    "messageType": "message_type",
    "businessFunctionId": "business_function_id",
    "businessFunctionResourceId": "business_function_resource_id",
    "priority": "priority_rank",
    "initiatingParticipantId": "initiating_participant_id",
    "receivingParticipantId": "receiving_participant_id",
    "status": "status",
    "createdDateTime": "created_at",
    "statusDateTime": "status_at",
    "size": "size",
}
# Columns that hold numbers, and what stands in for a missing one in the sort key.
NUMBERS = frozenset({"priority_rank", "size"})
NO_NUMBER = 2**62
FILTERS = (
    "businessFunctionId",
    "businessFunctionResourceId",
    "messageContextId",
    "initiatingParticipantId",
    "receivingParticipantId",
    "status",
    "messageType",
)
STATUSES = ("delivery_pending", "completed", "removed", "expired", "message_rejected", "message_acked")


class QueryError(ValueError):
    """A filter, sort or cursor this log does not understand."""


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the operator sees every row, a participant the rows it sent or received."""

    participant_id: str
    sees_all: bool


@dataclass(frozen=True)
class TranslogQuery:
    """What a caller asks of the log; whose rows it may see is the `Viewer`'s, given apart."""

    equals: dict[str, str] = field(default_factory=dict)
    priority: str | None = None
    from_date_time: datetime | None = None
    to_date_time: datetime | None = None
    sort: str = "-createdDateTime"
    item_count: int = 100
    cursor: str | None = None


def visibility(viewer: Viewer) -> tuple[str, list[Any]]:
    """Rejected rows are the sender's business only; receivers see what reached (or waits for) them."""
    if viewer.sees_all:
        return "1 = 1", []
    return (
        "(initiating_participant_id = ? OR (receiving_participant_id = ? AND status != 'message_rejected'))",
        [viewer.participant_id, viewer.participant_id],
    )


def _where(viewer: Viewer, query: TranslogQuery) -> Where:
    clause, params = visibility(viewer)
    where = Where()
    where.add(clause, *params)
    for name, value in query.equals.items():
        where.equals(COLUMNS[name], value)
    where.equals("priority", query.priority)
    where.between("created_at", query.from_date_time, query.to_date_time)
    return where


def _order(sort: str) -> tuple[str, bool]:
    descending = sort.startswith("-")
    name = sort.lstrip("-+")
    if name not in COLUMNS:
        raise QueryError(f"sort by one of {sorted(COLUMNS)}, with '-' for descending; not {sort!r}")
    return COLUMNS[name], descending


async def search(db: ViewsConnection, viewer: Viewer, query: TranslogQuery) -> Page[dict[str, Any]]:
    where = _where(viewer, query)
    column, descending = _order(query.sort)
    async with db.execute(f"SELECT count(*) FROM translog_rows WHERE {where.sql}", where.params) as cursor:  # noqa: S608
        total = int((await cursor.fetchone() or [0])[0])
    # A row without a value sorts after every value when ascending (as SQLite put its '' after numbers), through a
    # stand-in of the column's own type: PostgreSQL compares no text with numbers.
    key = f"COALESCE({column}, {NO_NUMBER})" if column in NUMBERS else f"COALESCE({column}, '')"
    direction, comparison = ("DESC", "<") if descending else ("ASC", ">")
    if query.cursor is not None:
        try:
            after = decode_cursor(query.cursor, int if column in NUMBERS else str, int, str)
        except CursorError as error:
            raise QueryError(str(error)) from error
        where.add(f"({key}, position, transaction_id) {comparison} (?, ?, ?)", *after)
    sql = (
        f"SELECT *, {key} AS sort_key FROM translog_rows WHERE {where.sql} "  # noqa: S608 - fixed columns
        f"ORDER BY {key} {direction}, position {direction}, transaction_id {direction} LIMIT ?"
    )
    async with db.execute(sql, [*where.params, query.item_count + 1]) as cursor:
        rows, last = cut(list(await cursor.fetchall()), query.item_count)
    next_cursor = None
    if last is not None:
        next_cursor = encode_cursor(last["sort_key"], last["position"], last["transaction_id"])
    return Page([row_view(r) for r in rows], next_cursor, total)


async def all_rows(db: ViewsConnection, viewer: Viewer, query: TranslogQuery) -> AsyncIterator[dict[str, Any]]:
    """Every row of the query in its sort order, a page at a time (for CSV)."""
    cursor = None
    while True:
        page = await search(db, viewer, replace(query, item_count=500, cursor=cursor))
        for row in page.items:
            yield row
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


async def related(db: ViewsConnection, viewer: Viewer, message_context_id: str) -> dict[str, Any] | None:
    """The rows of one message (its fan-out) and every status change of them, oldest first."""
    clause, params = visibility(viewer)
    async with db.execute(
        f"SELECT * FROM translog_rows WHERE message_context_id = ? AND {clause} ORDER BY position, transaction_id",  # noqa: S608
        [message_context_id, *params],
    ) as cursor:
        rows = list(await cursor.fetchall())
    if not rows:
        return None
    visible = [r["transaction_id"] for r in rows]
    marks = ",".join("?" * len(visible))
    async with db.execute(
        f"SELECT * FROM translog_history WHERE transaction_id IN ({marks}) ORDER BY position, transaction_id",  # noqa: S608
        visible,
    ) as cursor:
        history = [
            {
                "receivingParticipantId": h["receiving_participant_id"],
                "status": h["status"],
                "statusDateTime": iso_from_key(h["status_at"]),
                "detail": h["detail"],
            }
            for h in await cursor.fetchall()
        ]
    return {"rows": [row_view(r) for r in rows], "history": history}


def row_view(row: Row) -> dict[str, Any]:
    return {
        "transactionId": row["transaction_id"],
        "messageContextId": row["message_context_id"],
        "messageType": row["message_type"],
        "businessFunctionId": row["business_function_id"],
        "businessFunctionResourceId": row["business_function_resource_id"],
        "priority": row["priority"],
        "initiatingParticipantId": row["initiating_participant_id"],
        "receivingParticipantId": row["receiving_participant_id"],
        "status": row["status"],
        "createdDateTime": iso_from_key(row["created_at"]),
        "statusDateTime": iso_from_key(row["status_at"]),
        "size": row["size"],
        "detail": row["detail"],
    }
