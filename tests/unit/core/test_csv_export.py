"""The transaction log's CSV: no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest

from translog.csv_export import FIELDS, csv_lines


async def rows_of(*rows: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    for row in rows:
        yield row


async def exported(*rows: dict[str, Any]) -> list[dict[str, str]]:
    text = "".join([line async for line in csv_lines(rows_of(*rows))])
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
async def test_a_cell_that_starts_like_a_formula_is_quoted_as_text(start: str) -> None:
    """A submitter's `=HYPERLINK(...)` (or `+`, `-`, `@`, tab, CR) starts the cell with `'`, and is kept whole."""
    value = f'{start}HYPERLINK("https://evil.example","x")'
    [row] = await exported({**dict.fromkeys(FIELDS, ""), "messageContextId": value, "detail": value, "size": 5})

    assert row["messageContextId"] == row["detail"] == "'" + value
    assert row["size"] == "5"


async def test_ordinary_cells_are_written_as_they_are() -> None:
    """Ids, timestamps with offsets and empty receivers are not touched."""
    row = {
        **dict.fromkeys(FIELDS, ""),
        "messageContextId": "pqd~bpqd~m~MC1~u1",
        "createdDateTime": "2026-07-01T10:00:00.000+10:00",
        "receivingParticipantId": None,
    }
    [written] = await exported(row)

    assert written["messageContextId"] == "pqd~bpqd~m~MC1~u1"
    assert written["createdDateTime"] == "2026-07-01T10:00:00.000+10:00"
    assert written["receivingParticipantId"] == ""
