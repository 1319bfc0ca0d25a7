"""The read side's database: view tables and the tracked position of each projection.

One SQLite file (DATA_DIR/views.sqlite) by default; with `--database-url`, the PostgreSQL database of the event
store (exchange/eventstore/postgres_views.py). The projections and queries write their SQL once, in the dialect
both accept, with `?` placeholders, against `ViewsConnection`: the part of `aiosqlite.Connection` they use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Coroutine, Generator, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

import aiosqlite

SCHEMA = """
CREATE TABLE IF NOT EXISTS tracking (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
"""


class Row(Protocol):
    """A row of a result: addressable by column name and by index, as `sqlite3.Row`."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...


class ViewsCursor(Protocol):
    """The rows of one statement."""

    async def fetchone(self) -> Row | None: ...

    async def fetchall(self) -> Iterable[Row]: ...

    def __aiter__(self) -> AsyncIterator[Row]: ...


class ViewsResult(Protocol):
    """What `execute` gives: awaited, or entered as an async context manager, it is the statement's cursor."""

    def __await__(self) -> Generator[Any, None, ViewsCursor]: ...

    async def __aenter__(self) -> ViewsCursor: ...

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None, /
    ) -> Any: ...


R = TypeVar("R", bound=Row)


class FetchedCursor(Generic[R]):
    """The rows of one statement, read in full when it ran (as the read side reads every result at once): the
    cursor of a connection that runs each statement in one go rather than fetching in steps."""

    def __init__(self, rows: list[R]) -> None:
        self._rows = rows
        self._next = 0

    async def fetchone(self) -> R | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchall(self) -> list[R]:
        rest, self._next = self._rows[self._next :], len(self._rows)
        return rest

    def __aiter__(self) -> AsyncIterator[R]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[R]:
        while (row := await self.fetchone()) is not None:
            yield row


class StatementResult(Generic[R]):
    """`execute`'s answer for such a connection: awaited, or entered with `async with`, it is the cursor (as
    aiosqlite's)."""

    def __init__(self, running: Coroutine[Any, Any, FetchedCursor[R]]) -> None:
        self._running = running

    def __await__(self) -> Generator[Any, None, FetchedCursor[R]]:
        return self._running.__await__()

    async def __aenter__(self) -> FetchedCursor[R]:
        return await self._running

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None, /
    ) -> None:
        """Nothing to release: the rows were read in full when the statement ran."""


class ViewsConnection(Protocol):
    """A connection to the views database (an `aiosqlite.Connection`, or `PostgresViews`)."""

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, parameters: Iterable[Any] | None = None, /) -> ViewsResult: ...

    def execute_fetchall(self, sql: str, parameters: Iterable[Any] | None = None, /) -> Awaitable[Iterable[Row]]: ...

    def executemany(self, sql: str, parameters: Iterable[Iterable[Any]], /) -> Awaitable[Any]: ...

    def executescript(self, sql_script: str, /) -> Awaitable[Any]: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def close(self) -> None: ...


async def open_views(path: Path, *, derived_only: bool = False) -> aiosqlite.Connection:
    """A connection to a views file in WAL mode.

    `derived_only` is for the connections of projections, which write only what the event store can give
    again: their commits skip the fsync (`synchronous=NORMAL`). A commit still survives the process being killed,
    and one lost with the machine goes with its tracked position, so the projection handles those events again.
    """
    db = await aiosqlite.connect(path, isolation_level=None)
    db.row_factory = aiosqlite.Row
    # One script, one round trip to the connection's thread; the busy timeout first, so that switching to WAL
    # waits for another process's transaction rather than failing.
    synchronous = "NORMAL" if derived_only else "FULL"
    await db.executescript(
        f"PRAGMA busy_timeout=10000; PRAGMA journal_mode=WAL; PRAGMA synchronous={synchronous};\n{SCHEMA}"
    )
    return db


async def tracked_position(db: ViewsConnection, name: str) -> int:
    # One round trip to the connection's thread, where a cursor's execute, fetch and close take three.
    rows = list(await db.execute_fetchall("SELECT position FROM tracking WHERE name = ?", (name,)))
    return int(rows[0][0]) if rows else 0


async def tracked_positions(db: ViewsConnection) -> dict[str, int]:
    """Every follower's tracked position, by name, in one round trip."""
    return {row[0]: int(row[1]) for row in await db.execute_fetchall("SELECT name, position FROM tracking")}


async def track(db: ViewsConnection, name: str, position: int) -> None:
    # Never backwards: another process following the same views may have recorded a later position (a handler
    # that skips what that covers relies on it), and a relay replaying from before its position must not undo it.
    await db.execute(
        "INSERT INTO tracking (name, position) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET position = excluded.position WHERE excluded.position > tracking.position",
        (name, position),
    )
