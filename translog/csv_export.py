"""The transaction log as CSV: the same rows and columns as the JSON answer."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

FIELDS = [
    "transactionId",
    "messageContextId",
    "messageType",
    "businessFunctionId",
    "businessFunctionResourceId",
    "priority",
    "initiatingParticipantId",
    "receivingParticipantId",
    "status",
    "createdDateTime",
    "statusDateTime",
    "size",
    "detail",
]

# A spreadsheet runs a cell that starts with one of these as a formula; OWASP's advice on CSV injection is to
# prefix such a cell with a quote, which the spreadsheet shows as text. Tab and carriage return are on its list too.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


async def csv_lines(rows: AsyncIterator[dict[str, Any]]) -> AsyncIterator[str]:
    """A header line, then one line per row, written as they come so a large export streams."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\r\n")
    writer.writeheader()
    async for row in rows:
        writer.writerow({name: _inert(value) for name, value in row.items()})
        if buffer.tell() > 64 * 1024:
            yield _take(buffer)
    yield _take(buffer)


def _inert(value: Any) -> Any:
    """The value, quoted with `'` when a spreadsheet would take it for a formula.

    Submitters choose some of these strings (a refused submission's messageContextId is logged as sent), and the
    operator opens the export in a spreadsheet.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
