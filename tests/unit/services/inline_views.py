"""Views in an in-memory SQLite database whose statements run on the event loop's own thread.

aiosqlite gives each connection a thread, started when the connection opens (about a millisecond here), and every
statement a round trip to it (about 0.15 ms). For a database in memory the statements themselves take microseconds,
so in the use cases' tests, which open two such databases per test and run some thirty statements, the threads
cost more than the work. This is the same SQLite through the standard library's `sqlite3`, in autocommit mode as
the exchange opens its views; each statement still yields to the loop once first, as an await on aiosqlite does.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable
from typing import Any

from exchange.readmodels.views import SCHEMA, FetchedCursor, StatementResult


class InlineViews:
    """A `ViewsConnection` (and a limit store's connection) to a fresh in-memory database."""

    def __init__(self) -> None:
        self._db = sqlite3.connect(":memory:", isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.executescript(SCHEMA)

    @property
    def in_transaction(self) -> bool:
        return self._db.in_transaction

    def execute(self, sql: str, parameters: Iterable[Any] | None = None, /) -> StatementResult[sqlite3.Row]:
        return StatementResult(self._statement(sql, parameters))

    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] | None = None, /) -> list[sqlite3.Row]:
        return await (await self._statement(sql, parameters)).fetchall()

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]], /) -> None:
        await asyncio.sleep(0)
        self._db.executemany(sql, [tuple(row) for row in parameters])

    async def executescript(self, sql_script: str, /) -> None:
        await asyncio.sleep(0)
        self._db.executescript(sql_script)

    async def commit(self) -> None:
        await asyncio.sleep(0)
        self._db.commit()

    async def rollback(self) -> None:
        await asyncio.sleep(0)
        self._db.rollback()

    async def close(self) -> None:
        self._db.close()

    async def _statement(self, sql: str, parameters: Iterable[Any] | None) -> FetchedCursor[sqlite3.Row]:
        await asyncio.sleep(0)
        return FetchedCursor(self._db.execute(sql, tuple(parameters or ())).fetchall())
