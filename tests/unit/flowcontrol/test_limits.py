"""Rate limits, quotas and manual switches counted in a real database, shared as several processes would.

`LimitStoreContract` is run on SQLite here and on PostgreSQL in tests/integration/test_limits_postgres.py; the
tests after it are about SQLite's own transaction modes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiosqlite
import pytest

from exchange.domain.markettime import market_day, seconds_until_next_market_day
from flowcontrol.limits import CounterDatabase, LimitStore

Connect = Callable[[], Awaitable[CounterDatabase]]
QUOTAS = {"High": 3, "Medium": 2, "Low": 1}
NOON = datetime(2026, 7, 1, 2, 0, 30, tzinfo=UTC)  # 12:00:30 market time, 30 s into a window
DAY = market_day(NOON)


class LimitStoreContract:
    """What flow control needs of its counters on any backend; subclasses provide the `connect` fixture, which
    opens connections to one fresh database the way the exchange opens its own (autocommit)."""

    async def test_the_fifty_first_request_in_a_window_waits_until_the_window_ends(self, connect: Connect) -> None:
        """Fifty requests pass; the next one gets the 30 seconds left in the window as Retry-After."""
        store = LimitStore(await connect())
        for _ in range(50):
            assert await store.hit_rate("MDP1", "POST /pqd/v1/bpqd", NOON, 50) is None
        retry = await store.hit_rate("MDP1", "POST /pqd/v1/bpqd", NOON, 50)
        assert retry == 30.0
        assert retry is not None and 0 < retry <= 60

    async def test_retry_after_is_at_least_one_second_at_the_end_of_a_window(self, connect: Connect) -> None:
        """A refusal 0.2 s before the window ends still says 1 second, never 0."""
        store = LimitStore(await connect())
        late = datetime(2026, 7, 1, 2, 0, 59, 800_000, tzinfo=UTC)
        assert await store.hit_rate("MDP1", "GET /pqd/v1/bpqd", late, 1) is None
        assert await store.hit_rate("MDP1", "GET /pqd/v1/bpqd", late, 1) == 1.0

    async def test_a_new_window_starts_a_new_count(self, connect: Connect) -> None:
        """The fixed window resets at the minute boundary."""
        store = LimitStore(await connect())
        assert await store.hit_rate("MDP1", "POST /pqd/v1/bpqd", NOON, 1) is None
        assert await store.hit_rate("MDP1", "POST /pqd/v1/bpqd", NOON, 1) is not None
        assert await store.hit_rate("MDP1", "POST /pqd/v1/bpqd", NOON + timedelta(seconds=30), 1) is None

    async def test_other_participants_and_routes_are_counted_apart(self, connect: Connect) -> None:
        """Hammering one endpoint leaves other participants and other endpoints unaffected."""
        store = LimitStore(await connect())
        assert await store.hit_rate("MDP1", "POST /pqd/v1/bpqd", NOON, 1) is None
        assert await store.hit_rate("MDP1", "POST /pqd/v1/bpqd", NOON, 1) is not None
        assert await store.hit_rate("MDP2", "POST /pqd/v1/bpqd", NOON, 1) is None
        assert await store.hit_rate("MDP1", "GET /pqd/v1/bpqd", NOON, 1) is None

    async def test_a_rate_limit_of_zero_is_off(self, connect: Connect) -> None:
        """IDX_RATE_LIMIT=0 lets everything through."""
        store = LimitStore(await connect())
        for _ in range(5):
            assert await store.hit_rate("MDP1", "POST /pqd/v1/bpqd", NOON, 0) is None

    async def test_two_stores_on_two_connections_share_their_counts(self, connect: Connect) -> None:
        """Two processes on one database file see each other's requests, quotas and switches."""
        first, second = LimitStore(await connect()), LimitStore(await connect())
        assert await first.hit_rate("MDP1", "POST /pqd/v1/bpqd", NOON, 2) is None
        assert await second.hit_rate("MDP1", "POST /pqd/v1/bpqd", NOON, 2) is None
        assert await first.hit_rate("MDP1", "POST /pqd/v1/bpqd", NOON, 2) is not None
        assert await first.take_quota("MDP1", "Low", DAY, QUOTAS, now=NOON) is None
        assert await second.take_quota("MDP1", "Low", DAY, QUOTAS, now=NOON) is not None
        assert await first.take_manual_switch("LNSP1", "pqd", DAY)
        assert await second.take_manual_switch("LNSP1", "pqd", DAY)
        assert not await first.take_manual_switch("LNSP1", "pqd", DAY)

    async def test_counts_survive_a_restart(self, connect: Connect) -> None:
        """A store on a new connection (the server restarted) continues the old counts."""
        assert await LimitStore(await connect()).take_quota("MDP1", "Low", DAY, QUOTAS, now=NOON) is None
        assert await LimitStore(await connect()).take_quota("MDP1", "Low", DAY, QUOTAS, now=NOON) is not None

    async def test_a_hundred_concurrent_requests_from_two_connections_let_exactly_fifty_through(
        self, connect: Connect
    ) -> None:
        """The take is atomic across connections: no more than the limit, and no fewer."""
        first, second = LimitStore(await connect()), LimitStore(await connect())
        answers = await asyncio.gather(
            *(store.hit_rate("MDP1", "POST /pqd/v1/bpqd", NOON, 50) for store in [first, second] * 50)
        )
        assert sum(answer is None for answer in answers) == 50

    async def test_quotas_per_priority_are_independent(self, connect: Connect) -> None:
        """Using up Low leaves High and Medium untouched; each refuses only past its own limit."""
        store = LimitStore(await connect())
        assert await store.take_quota("MDP1", "Low", DAY, QUOTAS, now=NOON) is None
        assert await store.take_quota("MDP1", "Low", DAY, QUOTAS, now=NOON) is not None
        for _ in range(2):
            assert await store.take_quota("MDP1", "Medium", DAY, QUOTAS, now=NOON) is None
        for _ in range(3):
            assert await store.take_quota("MDP1", "High", DAY, QUOTAS, now=NOON) is None
        assert await store.take_quota("MDP1", "High", DAY, QUOTAS, now=NOON) is not None
        assert await store.take_quota("MC1", "Low", DAY, QUOTAS, now=NOON) is None

    async def test_an_exceeded_quota_waits_until_the_next_market_day(self, connect: Connect) -> None:
        """At market noon the Retry-After is the twelve hours to market midnight; the next day starts afresh."""
        store = LimitStore(await connect())
        await store.take_quota("MDP1", "Low", DAY, QUOTAS, now=NOON)
        assert await store.take_quota("MDP1", "Low", DAY, QUOTAS, now=NOON) == 12 * 3600 - 30
        assert await store.take_quota("MDP1", "Low", DAY + timedelta(days=1), QUOTAS, now=NOON) is None

    async def test_a_released_quota_can_be_taken_again(self, connect: Connect) -> None:
        """A rejected submission gives its quota back; releasing never goes below zero."""
        store = LimitStore(await connect())
        assert await store.take_quota("MDP1", "Low", DAY, QUOTAS, now=NOON) is None
        await store.release_quota("MDP1", "Low", DAY)
        await store.release_quota("MDP1", "Low", DAY)
        assert await store.take_quota("MDP1", "Low", DAY, QUOTAS, now=NOON) is None
        assert await store.take_quota("MDP1", "Low", DAY, QUOTAS, now=NOON) is not None

    async def test_a_priority_without_a_limit_is_unlimited(self, connect: Connect) -> None:
        """A zero or missing quota is off."""
        store = LimitStore(await connect())
        for _ in range(3):
            assert await store.take_quota("MDP1", "Low", DAY, {"Low": 0}, now=NOON) is None
            assert await store.take_quota("MDP1", "Low", DAY, {}, now=NOON) is None

    async def test_the_third_manual_switch_in_a_day_is_refused(self, connect: Connect) -> None:
        """Two switches per function per participant per market day; other functions and days are apart."""
        store = LimitStore(await connect())
        assert await store.take_manual_switch("LNSP1", "pqd", DAY)
        assert await store.take_manual_switch("LNSP1", "pqd", DAY)
        assert not await store.take_manual_switch("LNSP1", "pqd", DAY)
        assert await store.take_manual_switch("LNSP1", "gr", DAY)
        assert await store.take_manual_switch("LNSP2", "pqd", DAY)
        assert await store.take_manual_switch("LNSP1", "pqd", DAY + timedelta(days=1))

    async def test_old_windows_and_days_are_pruned(self, connect: Connect) -> None:
        """Starting a new window or day deletes the rows of long-finished ones, so the tables stay small."""
        db = await connect()
        store = LimitStore(db)
        await store.hit_rate("MDP1", "POST /pqd/v1/bpqd", NOON, 50)
        await store.take_quota("MDP1", "Low", DAY, QUOTAS, now=NOON)
        await store.take_manual_switch("LNSP1", "pqd", DAY)
        later = NOON + timedelta(days=3)
        await store.hit_rate("MDP2", "GET /pqd/v1/bpqd", later, 50)
        await store.take_quota("MDP2", "High", market_day(later), QUOTAS, now=later)
        await store.take_manual_switch("LNSP2", "pqd", market_day(later))
        for table in ["flowcontrol_rate", "flowcontrol_quota", "flowcontrol_switch"]:
            assert list(await db.execute_fetchall(f"SELECT count(*) FROM {table}")) == [(1,)]

    async def test_a_manual_switch_limit_of_zero_is_off(self, connect: Connect) -> None:
        """With no allowance configured, every manual stop and start is allowed."""
        store = LimitStore(await connect())
        for _ in range(3):
            assert await store.take_manual_switch("LNSP1", "pqd", DAY, limit=0)

    async def test_the_manual_switches_of_a_day_are_counted_from_zero_on_a_fresh_store(self, connect: Connect) -> None:
        """Reading the count first creates the tables; a day without switches is 0, each switch adds one."""
        store = LimitStore(await connect())
        assert await store.manual_switches("LNSP1", "pqd", DAY) == 0

        await store.take_manual_switch("LNSP1", "pqd", DAY)

        assert await store.manual_switches("LNSP1", "pqd", DAY) == 1
        assert await store.manual_switches("LNSP1", "pqd", DAY + timedelta(days=1)) == 0


class TestLimitStoreOnSQLite(LimitStoreContract):
    @pytest.fixture
    async def connect(self, tmp_path: Path) -> AsyncIterator[Connect]:
        """Open connections to one database file the way the exchange opens its views (autocommit, WAL, busy wait)."""
        opened: list[aiosqlite.Connection] = []

        async def open_one() -> aiosqlite.Connection:
            db = await aiosqlite.connect(tmp_path / "limits.sqlite", isolation_level=None)
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA busy_timeout=10000")
            opened.append(db)
            return db

        yield open_one
        for db in opened:
            await db.close()


async def test_a_connection_in_implicit_transaction_mode_commits_each_take(tmp_path: Path) -> None:
    """With Python's default transaction handling the take is still committed, visible to another connection."""
    async with (
        aiosqlite.connect(tmp_path / "limits.sqlite") as db,
        aiosqlite.connect(tmp_path / "limits.sqlite") as other,
    ):
        assert await LimitStore(db).take_manual_switch("LNSP1", "pqd", DAY, limit=1)
        assert not db.in_transaction
        assert not await LimitStore(other).take_manual_switch("LNSP1", "pqd", DAY, limit=1)


@pytest.mark.parametrize(
    ("now", "day", "seconds"),
    [
        (datetime(2026, 7, 1, 13, 59, 59, tzinfo=UTC), date(2026, 7, 1), 1.0),
        (datetime(2026, 7, 1, 14, 0, 0, tzinfo=UTC), date(2026, 7, 2), 86400.0),
        (datetime(2026, 7, 1, 13, 59, 59, 900_000, tzinfo=UTC), date(2026, 7, 1), 1.0),
        (datetime(2026, 7, 1, 0, 0, 0, tzinfo=UTC), date(2026, 7, 1), 14 * 3600.0),
    ],
)
def test_the_market_day_runs_from_midnight_utc_plus_ten(now: datetime, day: date, seconds: float) -> None:
    """Market midnight is 14:00 UTC; the wait to it is rounded up to whole seconds, at least one."""
    assert market_day(now) == day
    assert seconds_until_next_market_day(now) == seconds


async def test_a_release_inside_the_callers_own_transaction_leaves_the_commit_to_the_caller(tmp_path: Path) -> None:
    """In implicit-transaction mode a release joins the caller's open transaction; rolling it back undoes it."""
    async with aiosqlite.connect(tmp_path / "limits.sqlite") as db:
        store = LimitStore(db)
        assert await store.take_quota("MDP1", "Low", DAY, QUOTAS, now=NOON) is None
        await db.execute("CREATE TABLE caller_own (x INTEGER)")
        await db.execute("INSERT INTO caller_own VALUES (1)")
        assert db.in_transaction

        await store.release_quota("MDP1", "Low", DAY)
        assert db.in_transaction
        await db.rollback()

        assert await store.take_quota("MDP1", "Low", DAY, QUOTAS, now=NOON) is not None


async def test_a_take_inside_the_callers_own_transaction_leaves_the_commit_to_the_caller(tmp_path: Path) -> None:
    """The take and the pruning of old days join the caller's open transaction; rolling it back undoes the take."""
    async with aiosqlite.connect(tmp_path / "limits.sqlite") as db:
        store = LimitStore(db)
        await store.create_tables()
        await db.execute("CREATE TABLE caller_own (x INTEGER)")
        await db.execute("INSERT INTO caller_own VALUES (1)")

        assert await store.take_quota("MDP1", "Low", DAY, QUOTAS, now=NOON) is None
        assert db.in_transaction
        await db.rollback()

        assert list(await db.execute_fetchall("SELECT count(*) FROM caller_own")) == [(0,)]
        assert await store.take_quota("MDP1", "Low", DAY, QUOTAS, now=NOON) is None
