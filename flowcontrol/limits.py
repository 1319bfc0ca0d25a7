"""Rate limits, daily quotas, the manual-switch allowance and failed secret checks, counted in SQLite or PostgreSQL;
and the tokens given up at sign-out, which every process of the exchange must refuse.

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
    """CREATE TABLE IF NOT EXISTS flowcontrol_failures (
        subject TEXT NOT NULL, window_start BIGINT NOT NULL, count BIGINT NOT NULL,
        PRIMARY KEY (subject, window_start))""",
    "CREATE INDEX IF NOT EXISTS flowcontrol_failures_window ON flowcontrol_failures (window_start)",
    """CREATE TABLE IF NOT EXISTS signed_out_tokens (token_id TEXT PRIMARY KEY, expires BIGINT NOT NULL)""",
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

    async def count_failure(self, subject: str, now: datetime, window: timedelta) -> None:
        """Count one failed attempt of ``subject`` (a client id, an address) in the current fixed ``window``."""
        if not self._ready:
            await self.create_tables()
        start = _window_start(now, window)
        was = self._db.in_transaction
        rows = await self._db.execute_fetchall(
            "INSERT INTO flowcontrol_failures (subject, window_start, count) VALUES (?, ?, 1) "
            "ON CONFLICT (subject, window_start) DO UPDATE SET count = flowcontrol_failures.count + 1 RETURNING count",
            (subject, start),
        )
        await self._commit_if_opened(was)
        if rows and int(next(iter(rows))[0]) == 1:
            await self._prune("flowcontrol_failures", "window_start", start - int(_KEEP_WINDOWS.total_seconds()))

    async def failures(self, subject: str, now: datetime, window: timedelta) -> int:
        """How many failed attempts of ``subject`` the current fixed ``window`` has counted, in every process."""
        if not self._ready:
            await self.create_tables()
        rows = await self._db.execute_fetchall(
            "SELECT count FROM flowcontrol_failures WHERE subject = ? AND window_start = ?",
            (subject, _window_start(now, window)),
        )
        return int(next(iter(rows))[0]) if rows else 0

    async def record_sign_out(self, token_id: str, expires: int) -> None:
        """A token given up before it expires (at ``expires``, seconds since the epoch), for every process to refuse."""
        if not self._ready:
            await self.create_tables()
        was = self._db.in_transaction
        await self._db.execute(
            "INSERT INTO signed_out_tokens (token_id, expires) VALUES (?, ?) ON CONFLICT (token_id) DO NOTHING",
            (token_id, expires),
        )
        await self._commit_if_opened(was)

    async def sign_outs(self, now: datetime) -> dict[str, int]:
        """The tokens given up that have not expired yet, by id → expiry; expired ones are dropped for good."""
        if not self._ready:
            await self.create_tables()
        epoch = int(now.timestamp())
        was = self._db.in_transaction
        await self._db.execute("DELETE FROM signed_out_tokens WHERE expires <= ?", (epoch,))
        await self._commit_if_opened(was)
        rows = await self._db.execute_fetchall("SELECT token_id, expires FROM signed_out_tokens", ())
        return {str(token_id): int(expires) for token_id, expires in rows}

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


def _window_start(now: datetime, window: timedelta) -> int:
    seconds = int(window.total_seconds())
    return math.floor(now.timestamp() / seconds) * seconds
