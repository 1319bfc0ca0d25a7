"""Keyset paging: the one cursor codec, the page every list returns, and the filters lists share.

A cursor is the sort key of the last item handed out, as a JSON array in unpadded URL-safe base64. It is opaque
to callers; decoding checks its shape, so a cursor this exchange did not hand out is a `CursorError` (callers
turn it into a malformed-request error), never a database error.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from exchange.kernel.clock import utc_key

T = TypeVar("T")
# SQLite integers are 64-bit; a key outside that range can only be forged.
_INTEGERS = range(2**63)


class CursorError(ValueError):
    """A cursor that this exchange did not hand out."""


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None
    total_records: int


def encode_cursor(*key: str | int) -> str:
    """The cursor that resumes a listing after the item whose sort key is `key`."""
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *kinds: type | tuple[type, ...]) -> tuple[Any, ...]:
    """The sort key in `cursor`, one value of each of `kinds` (str or int); CursorError if it is not one."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as error:
        raise CursorError(f"cursor {cursor!r} is not one this exchange handed out") from error
    if not (isinstance(key, list) and len(key) == len(kinds) and all(map(_is_a, key, kinds))):
        raise CursorError(f"cursor {cursor!r} is not one this exchange handed out")
    return tuple(key)


def _is_a(value: object, kind: type | tuple[type, ...]) -> bool:
    if isinstance(value, bool) or not isinstance(value, kind):
        return False
    return not isinstance(value, int) or value in _INTEGERS


def cut(rows: Sequence[T], item_count: int) -> tuple[Sequence[T], T | None]:
    """Rows fetched with `LIMIT item_count + 1`: the page's rows, and its last row when another page follows."""
    page = rows[:item_count]
    return page, (page[-1] if len(rows) > item_count else None)


@dataclass
class Where:
    """The conditions of a listing's WHERE clause and their parameters, in order."""

    conditions: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, condition: str, *params: Any) -> None:
        self.conditions.append(condition)
        self.params.extend(params)

    def equals(self, column: str, value: object | None) -> None:
        """`column = value`, unless the filter was not given (None)."""
        if value is not None:
            self.add(f"{column} = ?", value)

    def between(self, column: str, start: datetime | None, end: datetime | None) -> None:
        """`start <= column <= end` on a `utc_key` column, each bound only when given."""
        if start is not None:
            self.add(f"{column} >= ?", utc_key(start))
        if end is not None:
            self.add(f"{column} <= ?", utc_key(end))

    @property
    def sql(self) -> str:
        return " AND ".join(self.conditions)
