"""The flow-control counters (rate windows, daily quotas, manual switches) in PostgreSQL.

With `--database-url` every process of one exchange counts in the same tables, so a participant's limits hold
across processes and machines. `flowcontrol.limits.LimitStore` writes its SQL once, with SQLite's `?`
placeholders; this adapter gives it a connection of that shape over a small pool of PostgreSQL connections in
autocommit mode (each take is one statement that commits on its own, as on SQLite).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from exchange.eventstore.database_errors import database_errors


class PostgresCounters:
    """A `flowcontrol.limits.CounterDatabase` on PostgreSQL."""

    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]]) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, database_url: str) -> PostgresCounters:
        pool: AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]] = AsyncConnectionPool(
            database_url,
            min_size=1,
            max_size=4,
            open=False,
            kwargs={"autocommit": True},
            timeout=5,
            # A connection broken by a restart of PostgreSQL is found out and replaced before use.
            check=AsyncConnectionPool.check_connection,
        )
        await pool.open(wait=True, timeout=10)
        return cls(pool)

    @property
    def in_transaction(self) -> bool:
        return False  # autocommit: no statement is left open for a caller to commit

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None, /) -> None:
        with database_errors():
            async with self._pool.connection() as connection:
                if sql.lstrip().upper().startswith("CREATE"):
                    # Processes creating the tables at once would collide in PostgreSQL's catalogue (CREATE ... IF
                    # NOT EXISTS is not safe against a concurrent create): they take turns under an advisory lock.
                    async with connection.transaction():
                        await connection.execute("SELECT pg_advisory_xact_lock(hashtext('flowcontrol tables'))")
                        await connection.execute(_placeholders(sql), tuple(parameters or ()))
                    return
                await connection.execute(_placeholders(sql), tuple(parameters or ()))

    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] | None = None, /) -> list[tuple[Any, ...]]:
        with database_errors():
            async with self._pool.connection() as connection:
                cursor = await connection.execute(_placeholders(sql), tuple(parameters or ()))
                return await cursor.fetchall()

    async def commit(self) -> None:
        """Nothing to do: each statement committed on its own."""

    async def close(self) -> None:
        await self._pool.close()


def _placeholders(sql: str) -> Any:
    # LimitStore's statements hold no literal `?` or `%`: each `?` is a parameter. Any: psycopg types its query
    # argument as a literal string, and these are built from the store's constants, never from input.
    return sql.replace("?", "%s")
