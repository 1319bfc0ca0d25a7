"""The read models in PostgreSQL: a connection of the shape the read side already uses, over psycopg.

With `--database-url` every view table and every tracked position live in the database of the event store, so
each process of the exchange reads the same views. The projections and queries write their SQL once, in the
dialect SQLite and PostgreSQL both accept, with SQLite's `?` placeholders (exchange/readmodels/views.py
`ViewsConnection`). What still differs is settled here, in one place:

- `?` becomes psycopg's `%s` (no statement of the read side holds a literal `?`), and a literal `%` is doubled;
- `BEGIN IMMEDIATE` (SQLite's way of taking the write lock first) is a plain `BEGIN`; PRAGMAs are SQLite's own;
- in the schema scripts, INTEGER is BIGINT (positions and sizes outgrow 32 bits), BLOB is BYTEA, and TEXT sorts
  by bytes (`COLLATE "C"`) as SQLite's does, whatever the database's locale: keyset paging and the sort orders of
  the API rely on it.

A follower gets a `PostgresViews` of its own, one connection, because its transaction spans the statements of a
batch; the request side shares one over a small pool, in autocommit, where each statement stands alone. A
follower's connection the server drops is opened again at its next statement, unless a transaction was open on
it: then its statements fail until the follower rolls back, so no half of a batch is ever written on its own.
Schema scripts run under an advisory lock, so processes starting together create each table once.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import psycopg
import structlog
from psycopg import AsyncConnection
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool

from exchange.eventstore.ledger import IDLE_TRANSACTION_TIMEOUT
from exchange.kernel.errors import MalformedError
from exchange.kernel.tasks import Repeating
from exchange.readmodels.views import SCHEMA as TRACKING_SCHEMA
from exchange.readmodels.views import FetchedCursor, StatementResult, ViewsConnection, open_views

# Schema scripts of the projections take turns under this lock: CREATE ... IF NOT EXISTS is not safe against
# another process creating the same table at the same moment (both pass the check, one fails in the catalogue).
SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtext('idx views schema'))"
POOL_SIZE = 4
CONNECT_TIMEOUT = 10  # seconds

log = structlog.get_logger(__name__)

_DDL_TYPES = [
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'),
]
_PRAGMA = re.compile(r"^\s*PRAGMA\b", re.IGNORECASE)
_BEGIN = re.compile(r"^\s*BEGIN\b(\s+(IMMEDIATE|DEFERRED|EXCLUSIVE))?\s*;?\s*$", re.IGNORECASE)
_ROLLBACK = re.compile(r"^\s*ROLLBACK\s*;?\s*$", re.IGNORECASE)
_COMMIT = re.compile(r"^\s*(COMMIT|END)\s*;?\s*$", re.IGNORECASE)


class NamedRow(tuple[Any, ...]):
    """A row addressable by index and by column name, as `sqlite3.Row` (the first column of a name wins)."""

    _names: dict[str, int]

    def __new__(cls, values: Iterable[Any], names: dict[str, int]) -> NamedRow:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(self._names[key])
        return super().__getitem__(key)

    def keys(self) -> list[str]:
        return list(self._names)


class PostgresViews:
    """A `ViewsConnection` on PostgreSQL: one connection of its own (`connect`), or statements over a pool (`pool`)."""

    def __init__(
        self,
        database_url: str,
        connection: AsyncConnection[tuple[Any, ...]] | None = None,
        pool: AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]] | None = None,
    ) -> None:
        self._url = database_url
        self._connection = connection
        self._pool = pool
        # Between a BEGIN and its COMMIT or ROLLBACK: a connection lost then takes the transaction's statements with
        # it, so the next statement must fail rather than run on a new connection outside any transaction.
        self._began = False

    @classmethod
    async def connect(cls, database_url: str) -> PostgresViews:
        """One connection, for a follower: a transaction it opens spans every statement until COMMIT."""
        views = cls(database_url, connection=await _connect(database_url))
        await views.executescript(TRACKING_SCHEMA)
        return views

    @classmethod
    async def pool(cls, database_url: str) -> PostgresViews:
        """A small pool in autocommit, for the request side: each statement stands alone, several run at once."""
        pool: AsyncConnectionPool[AsyncConnection[tuple[Any, ...]]] = AsyncConnectionPool(
            database_url,
            min_size=1,
            max_size=POOL_SIZE,
            open=False,
            kwargs={"autocommit": True},
            timeout=CONNECT_TIMEOUT,
        )
        await pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        views = cls(database_url, pool=pool)
        await views.executescript(TRACKING_SCHEMA)
        return views

    @property
    def in_transaction(self) -> bool:
        return self._began

    def execute(self, sql: str, parameters: Iterable[Any] | None = None, /) -> StatementResult[NamedRow]:
        return StatementResult(self._execute(sql, parameters))

    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] | None = None, /) -> list[NamedRow]:
        return await (await self._execute(sql, parameters)).fetchall()

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]], /) -> None:
        rows = [_checked(tuple(p)) for p in parameters]
        if not rows:
            return
        async with self._taken() as connection, connection.cursor() as cursor:
            await cursor.executemany(_placeholders(sql), rows)

    async def executescript(self, sql_script: str, /) -> None:
        """Run a schema script (SQLite's executescript commits an open transaction first, and so does this)."""
        async with self._taken() as connection:
            if connection.info.transaction_status != TransactionStatus.IDLE:
                await connection.execute("COMMIT")
                self._began = False
            async with connection.transaction():
                await connection.execute(SCHEMA_LOCK)
                await connection.execute(_schema(sql_script))

    async def commit(self) -> None:
        if self.in_transaction:
            await self._execute("COMMIT", None)

    async def rollback(self) -> None:
        if self.in_transaction:
            await self._execute("ROLLBACK", None)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
        if self._connection is not None:
            await self._connection.close()

    async def _execute(self, sql: str, parameters: Iterable[Any] | None) -> FetchedCursor[NamedRow]:
        if _PRAGMA.match(sql):
            return FetchedCursor([])
        if _BEGIN.match(sql):
            if self._pool is not None:
                raise TypeError("statements over the pool stand alone: a transaction needs PostgresViews.connect")
            await self._statement("BEGIN", None)
            self._began = True
            return FetchedCursor([])
        if _ROLLBACK.match(sql):
            # A follower undoes a failed batch before trying again; when the connection itself was lost, the
            # server undid it already, and the next BEGIN opens a new connection.
            self._began = False
            if self._connection is not None and not _lost(self._connection):
                with contextlib.suppress(psycopg.OperationalError):
                    await self._connection.execute("ROLLBACK")
            return FetchedCursor([])
        cursor = await self._statement(sql, parameters)
        if _COMMIT.match(sql):
            self._began = False
        return cursor

    async def _statement(self, sql: str, parameters: Iterable[Any] | None) -> FetchedCursor[NamedRow]:
        values = None if parameters is None else _checked(tuple(parameters))
        async with self._taken() as connection:
            cursor = await connection.execute(_placeholders(sql) if values is not None else sql, values)
            if cursor.description is None:
                return FetchedCursor([])
            names: dict[str, int] = {}
            for index, column in enumerate(cursor.description):
                names.setdefault(column.name, index)
            return FetchedCursor([NamedRow(values, names) for values in await cursor.fetchall()])

    def _taken(self) -> AbstractAsyncContextManager[AsyncConnection[tuple[Any, ...]]]:
        if self._pool is not None:
            return self._pool.connection()
        return self._own()

    @contextlib.asynccontextmanager
    async def _own(self) -> AsyncIterator[AsyncConnection[tuple[Any, ...]]]:
        if self._connection is None or _lost(self._connection):
            if self._began:
                raise psycopg.OperationalError("the connection was lost inside a transaction: roll back, begin again")
            # The server restarted or the network dropped the connection: outside a transaction nothing was lost
            # with it, and the follower goes on with a new one.
            self._connection = await _connect(self._url)
        yield self._connection


def _lost(connection: AsyncConnection[tuple[Any, ...]]) -> bool:
    return connection.closed or connection.broken


async def _connect(database_url: str) -> AsyncConnection[tuple[Any, ...]]:
    # Autocommit, as SQLite's connections are opened (isolation_level=None): a transaction is an explicit BEGIN.
    # A follower cut off inside its batch's transaction must not keep the lease row locked for ever (see
    # IDLE_TRANSACTION_TIMEOUT); its session ends, and its late COMMIT fails.
    return await AsyncConnection.connect(
        database_url,
        autocommit=True,
        connect_timeout=CONNECT_TIMEOUT,
        options=f"-c idle_in_transaction_session_timeout={IDLE_TRANSACTION_TIMEOUT * 1000}",
    )


def _checked(values: tuple[Any, ...]) -> tuple[Any, ...]:
    # PostgreSQL's text holds no NUL character, where SQLite's does: a value with one (a query parameter from a
    # request; no event carries one) is refused as malformed rather than failing in the database.
    if any(isinstance(value, str) and "\x00" in value for value in values):
        raise MalformedError("a text value holds a NUL character")
    return values


def _schema(script: str) -> Any:
    for pattern, replacement in _DDL_TYPES:
        script = pattern.sub(replacement, script)
    return script


def _placeholders(sql: str) -> Any:
    # A literal `%` must be doubled once psycopg reads placeholders; every `?` is a parameter (the read side's
    # statements hold none in literals). Any: psycopg types its query as a literal string, and these are built
    # from the read side's constants and column names, never from input.
    return sql.replace("%", "%%").replace("?", "%s")


async def open_views_for(database_url: str | None, sqlite_path: Path, *, shared: bool = False) -> ViewsConnection:
    """The one choice of the views' backend: PostgreSQL when a database URL is given, else the SQLite file.

    `shared` is for the request side, which many requests use at once (a pool); a follower's connection is its own.
    """
    if database_url is None:
        return await open_views(sqlite_path)
    return await (PostgresViews.pool if shared else PostgresViews.connect)(database_url)


# How often each process on PostgreSQL looks for the exchange's sessions stalled inside a transaction.
STALLED_SWEEP_EVERY = 1.0  # seconds
# The name the exchange's sessions carry in pg_stat_activity (libpq's PGAPPNAME, unless the environment sets it).
APPLICATION_NAME = "idx"


def name_sessions() -> None:
    """Name every PostgreSQL session this process opens from now on (libpq reads PGAPPNAME for each connection,
    eventsourcing's included), so that the sweep below can tell the exchange's sessions from anyone else's."""
    os.environ.setdefault("PGAPPNAME", APPLICATION_NAME)


class StalledTransactions:
    """Ends every session of the exchange (its database, its role and its application name, see `name_sessions`)
    that has sat idle inside a transaction, or silent in the middle of a pipeline after writing, for longer than
    IDLE_TRANSACTION_TIMEOUT, the server's own `idle_in_transaction_session_timeout` for those sessions. Anyone
    else's sessions, such as an operator's psql under the same role, are left alone.

    Why the server's setting is not enough: its timer is armed when a transaction's statement ends (ReadyForQuery)
    and disarmed by the next message from the client, and a Flush is such a message that arms nothing again.
    psycopg's pipeline (`executemany`) sends a Flush after its closing Sync whenever it had not read every result
    by then, which a loaded machine makes common. And a process stopped in the middle of a pipeline, before its
    Sync, leaves its session active and waiting to read the rest, where no idle timer runs at all. Either way the
    process keeps its locks (a lease row, the event store's table lock) for as long as it stays away, and no other
    process can take its leases over. Every process sweeps, so the one that is still running ends the stalled
    session of the one that is not. For an idle session the rule is the server's own; a session stopped in a
    pipeline is ended after the same silence, and only once it has written (it holds an xid): a reader holds no
    lock that another process's write waits for.
    """

    def __init__(self, database_url: str, idle_for: float = IDLE_TRANSACTION_TIMEOUT) -> None:
        self._url = database_url
        self.idle_for = idle_for
        self._views: PostgresViews | None = None
        self._rounds = Repeating(
            "stalled-transactions", self.sweep, STALLED_SWEEP_EVERY, log=log, failure="stalled_sweep_failed"
        )

    async def sweep(self) -> list[int]:
        """End the stalled sessions now; their process ids."""
        if self._views is None:
            self._views = await PostgresViews.connect(self._url)
        rows = await self._views.execute_fetchall(
            # In the select list, not the WHERE clause: only rows that pass every condition are ended.
            "SELECT pid, left(query, 200), pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND usename = current_user AND pid <> pg_backend_pid() "
            "AND application_name = current_setting('application_name') "
            "AND state_change < clock_timestamp() - make_interval(secs => ?) "
            "AND (state IN ('idle in transaction', 'idle in transaction (aborted)') "
            # Stopped in the middle of a pipeline (the server waits for the rest of it, or for its client to read
            # the results) after writing: active, so no idle timer at all, and holding its locks.
            "OR (state = 'active' AND wait_event IN ('ClientRead', 'ClientWrite') AND backend_xid IS NOT NULL))",
            (self.idle_for,),
        )
        ended = [(int(pid), query) for pid, query, terminated in rows if terminated]
        for pid, query in ended:
            log.warning("stalled_transaction_ended", pid=pid, last_statement=query)
        return [pid for pid, _ in ended]

    def start(self) -> None:
        self._rounds.start()

    async def stop(self) -> None:
        await self._rounds.stop()
        if self._views is not None:
            await self._views.close()
