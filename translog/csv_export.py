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


async def csv_lines(rows: AsyncIterator[dict[str, Any]]) -> AsyncIterator[str]:
    """A header line, then one line per row, written as they come so a large export streams."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\r\n")
    writer.writeheader()
    async for row in rows:
        writer.writerow(row)
        if buffer.tell() > 64 * 1024:
            yield _take(buffer)
    yield _take(buffer)


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
