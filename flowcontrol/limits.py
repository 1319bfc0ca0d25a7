"""Rate limits, daily quotas and the manual-switch allowance, counted in SQLite or PostgreSQL.

The counters live in a database file rather than in memory so that they survive a restart and are shared by every
server process that opens the same file. Each take is one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE count <
limit RETURNING count`` statement: SQLite runs it under its write lock (PostgreSQL under the row's lock), so
concurrent takes from several
connections can never let more than ``limit`` through, and a refused take leaves the counter unchanged (it only
ever holds granted takes, which is what ``release_quota`` undoes).

Days are market days (UTC+10); the caller derives them from the exchange's one clock with
``exchange.domain.markettime.market_day``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from exchange.domain.markettime import seconds_until_next_market_day

WINDOW_SECONDS = 60
# Rows of finished periods are useless; keep a margin so a process whose clock lags a little keeps its own.
_KEEP_WINDOWS = timedelta(hours=1)
_KEEP_DAYS = 2

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS flowcontrol_rate (
        participant TEXT NOT NULL, route TEXT NOT NULL, window_start BIGINT NOT NULL, count BIGINT NOT NULL,
        PRIMARY KEY (participant, route, window_start))""",
    "CREATE INDEX IF NOT EXISTS flowcontrol_rate_window ON flowcontrol_rate (window_start)",
    """CREATE TABLE IF NOT EXISTS flowcontrol_quota (
        sender TEXT NOT NULL, priority TEXT NOT NULL, day TEXT NOT NULL, count BIGINT NOT NULL,
        PRIMARY KEY (sender, priority, day))""",
    "CREATE INDEX IF NOT EXISTS flowcontrol_quota_day ON flowcontrol_quota (day)",
    """CREATE TABLE IF NOT EXISTS flowcontrol_switch (
        participant TEXT NOT NULL, business_function TEXT NOT NULL, day TEXT NOT NULL, count BIGINT NOT NULL,
        PRIMARY KEY (participant, business_function, day))""",
    "CREATE INDEX IF NOT EXISTS flowcontrol_switch_day ON flowcontrol_switch (day)",
)


class CounterDatabase(Protocol):
    """What the store needs of a database connection: aiosqlite's, or an adapter of another database speaking the
    same SQL with `?` placeholders (exchange.eventstore.postgres_counters for PostgreSQL)."""

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, parameters: Iterable[Any] | None = None, /) -> Awaitable[object]: ...

    def execute_fetchall(self, sql: str, parameters: Iterable[Any] | None = None, /) -> Awaitable[Iterable[Any]]: ...

    def commit(self) -> Awaitable[None]: ...


class LimitStore:
    """Counters for rate limits, quotas and manual switches on a shared SQLite file.

    Pass a connection in autocommit mode (``isolation_level=None``) with a ``busy_timeout``, as the exchange's
    views are opened, so that each take commits on its own and waits for other processes instead of failing.
    With a connection in Python's implicit-transaction mode a take commits the transaction it opened itself.
    Tables are created on first use. A limit of 0 turns that limit off.
    """

    def __init__(self, db: CounterDatabase) -> None:
        self._db = db
        self._ready = False
        self._schema_lock = asyncio.Lock()

    async def create_tables(self) -> None:
        """Create the tables if missing; every other method does this on first use."""
        async with self._schema_lock:
            if self._ready:
                return
            for statement in _SCHEMA:
                await self._db.execute(statement)
            await self._commit_if_opened(was_in_transaction=False)
            self._ready = True

    async def hit_rate(self, participant: str, route: str, now: datetime, limit: int) -> float | None:
        """Count one request in the current fixed 60-second window: None if allowed, else seconds until it ends."""
        if limit <= 0:
            return None
        epoch = now.timestamp()
        start = math.floor(epoch / WINDOW_SECONDS) * WINDOW_SECONDS
        count = await self._take(
            "flowcontrol_rate", ("participant", "route", "window_start"), (participant, route, start), limit
        )
        if count is None:
            return float(max(1, math.ceil(start + WINDOW_SECONDS - epoch)))
        if count == 1:  # first request of a window for this key: a cheap moment to drop old windows
            await self._prune("flowcontrol_rate", "window_start", start - int(_KEEP_WINDOWS.total_seconds()))
        return None

    async def take_quota(
        self, sender: str, priority: str, day: date, limits: Mapping[str, int], *, now: datetime
    ) -> float | None:
        """Count one message of ``sender`` at ``priority`` on market ``day``: None if within ``limits[priority]``,
        else seconds until the next market day (from ``now``). A priority missing from ``limits`` is unlimited.

        Take before accepting and ``release_quota`` if the submission is then rejected: taking first means
        concurrent submissions cannot overshoot the quota, releasing means rejected ones do not consume it.
        """
        limit = limits.get(priority, 0)
        if limit <= 0:
            return None
        count = await self._take(
            "flowcontrol_quota", ("sender", "priority", "day"), (sender, priority, day.isoformat()), limit
        )
        if count is None:
            return seconds_until_next_market_day(now)
        if count == 1:
            await self._prune("flowcontrol_quota", "day", (day - timedelta(days=_KEEP_DAYS)).isoformat())
        return None

    async def release_quota(self, sender: str, priority: str, day: date) -> None:
        """Give back one granted ``take_quota`` (the submission was rejected after it). Never goes below zero."""
        was = self._db.in_transaction
        await self._db.execute(
            "UPDATE flowcontrol_quota SET count = count - 1 "
            "WHERE sender = ? AND priority = ? AND day = ? AND count > 0",
            (sender, priority, day.isoformat()),
        )
        await self._commit_if_opened(was)

    async def take_manual_switch(self, participant: str, business_function: str, day: date, limit: int = 2) -> bool:
        """Count one manual stop or start on market ``day``: True if allowed, False past ``limit`` (then 429)."""
        if limit <= 0:
            return True
        count = await self._take(
            "flowcontrol_switch",
            ("participant", "business_function", "day"),
            (participant, business_function, day.isoformat()),
            limit,
        )
        if count == 1:
            await self._prune("flowcontrol_switch", "day", (day - timedelta(days=_KEEP_DAYS)).isoformat())
        return count is not None

    async def manual_switches(self, participant: str, business_function: str, day: date) -> int:
        """How many manual stops and starts ``participant`` made for ``business_function`` on market ``day``."""
        if not self._ready:
            await self.create_tables()
        rows = await self._db.execute_fetchall(
            "SELECT count FROM flowcontrol_switch WHERE participant = ? AND business_function = ? AND day = ?",
            (participant, business_function, day.isoformat()),
        )
        return int(next(iter(rows))[0]) if rows else 0

    async def _take(
        self, table: str, columns: tuple[str, str, str], key: tuple[str, str, str | int], limit: int
    ) -> int | None:
        """Raise the counter of ``key`` by one unless it is at ``limit``; the new count, or None if refused."""
        if not self._ready:
            await self.create_tables()
        was = self._db.in_transaction
        names = ", ".join(columns)
        # Table and column names are our constants, never input; the values are bound.
        sql = (
            f"INSERT INTO {table} ({names}, count) VALUES (?, ?, ?, 1) "  # noqa: S608
            # The stored count is named by its table: PostgreSQL finds a bare `count` ambiguous (stored or EXCLUDED).
            f"ON CONFLICT ({names}) DO UPDATE SET count = {table}.count + 1 WHERE {table}.count < ? RETURNING count"
        )
        # fetchall steps the statement to its end, so the write is complete before we commit or return.
        rows = await self._db.execute_fetchall(sql, (*key, limit))
        await self._commit_if_opened(was)
        return int(next(iter(rows))[0]) if rows else None

    async def _prune(self, table: str, column: str, before: str | int) -> None:
        was = self._db.in_transaction
        await self._db.execute(f"DELETE FROM {table} WHERE {column} < ?", (before,))  # noqa: S608
        await self._commit_if_opened(was)

    async def _commit_if_opened(self, was_in_transaction: bool) -> None:
        # Commit only a transaction our statement opened (implicit-transaction mode); a caller's own stays theirs.
        if not was_in_transaction and self._db.in_transaction:
            await self._db.commit()
