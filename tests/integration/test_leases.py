"""The lease store: one holder at a time, a new token for each tenure, late writes fenced off.

`LeaseStoreContract` holds what any backend must do; it runs here on the views file (SQLite) and in
test_leases_postgres.py on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import aiosqlite
import pytest

from exchange.readmodels.leases import LeaseDatabase, LeaseKeeper, LeaseLostError, Leases, fence
from exchange.readmodels.views import open_views


class ManualClock:
    """Wall-clock milliseconds that move only when a test says so."""

    def __init__(self) -> None:
        self.ms = 1_000_000

    def __call__(self) -> int:
        return self.ms


class Writer(Protocol):
    """A follower's connection, whose batch runs in a transaction of its own, with a table `rows (n)`."""

    async def begin(self) -> None: ...

    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] | None = None, /) -> Iterable[Any]: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


Connect = Callable[[], Awaitable[LeaseDatabase]]


async def acquired(leases: Leases, follower: str) -> int:
    """The token of the lease on `follower` that `leases` takes; the test fails where it cannot take it."""
    token = await leases.acquire(follower)
    assert token is not None
    return token


async def lapsed(leases: Leases, clock: ManualClock, follower: str) -> int:
    """The token of a lease on `follower` that `leases` took and that has run out since (its TTL is 3 s)."""
    token = await acquired(leases, follower)
    clock.ms += 3_000
    return token


class LeaseStoreContract:
    """What the followers need of their leases on any backend; subclasses provide `connect` (connections to one
    fresh database, as each process opens its own) and `writer` (a follower's connection to it)."""

    @pytest.fixture
    def clock(self) -> ManualClock:
        return ManualClock()

    @pytest.fixture
    async def pair(self, connect: Connect, clock: ManualClock) -> tuple[Leases, Leases]:
        first = Leases(await connect(), "first", now_ms=clock)
        second = Leases(await connect(), "second", now_ms=clock)
        await first.create_table()
        await second.create_table()
        return first, second

    async def test_a_free_lease_is_taken_with_token_one_and_refused_to_another_holder(
        self, pair: tuple[Leases, Leases]
    ) -> None:
        """The first to ask gets the lease with token 1; while it is valid another holder gets nothing."""
        first, second = pair
        assert await first.acquire("queue") == 1
        assert await second.acquire("queue") is None
        assert (await second.holders())["queue"] == ("first", 1)

    async def test_an_expired_lease_is_taken_over_with_the_next_token(
        self, pair: tuple[Leases, Leases], clock: ManualClock
    ) -> None:
        """Past its TTL a lease goes to the next holder that asks, and the fencing token goes up by one."""
        first, second = pair
        assert await first.acquire("queue") == 1
        clock.ms += 2_999
        assert await second.acquire("queue") is None
        clock.ms += 1
        assert await second.acquire("queue") == 2
        assert (await first.holders())["queue"] == ("second", 2)

    async def test_renewal_keeps_the_lease_and_fails_after_a_takeover(
        self, pair: tuple[Leases, Leases], clock: ManualClock
    ) -> None:
        """Renewing pushes the expiry on; once another holder took the lease, the old tenure cannot renew it."""
        first, second = pair
        token = await acquired(first, "queue")
        clock.ms += 2_000
        assert await first.renew("queue", token)
        clock.ms += 2_000
        assert await second.acquire("queue") is None  # renewed 2 s ago: still valid
        clock.ms += 1_000
        assert await second.acquire("queue") == token + 1
        assert not await first.renew("queue", token)

    async def test_a_released_lease_is_free_at_once(self, pair: tuple[Leases, Leases]) -> None:
        """A clean stop releases the lease: another holder takes it without waiting for the TTL."""
        first, second = pair
        token = await acquired(first, "deliverer")
        await first.release("deliverer", token)
        assert await second.acquire("deliverer") == token + 1

    async def test_releasing_a_superseded_tenure_leaves_the_new_holder_alone(
        self, pair: tuple[Leases, Leases], clock: ManualClock
    ) -> None:
        """A late release by an old tenure does not free the lease its successor holds."""
        first, second = pair
        old = await lapsed(first, clock, "queue")
        assert await second.acquire("queue") == old + 1
        await first.release("queue", old)
        assert await first.acquire("queue") is None

    async def test_leases_are_separate_per_follower(self, pair: tuple[Leases, Leases]) -> None:
        """Each follower has a lease of its own, so two processes can share the work."""
        first, second = pair
        assert await first.acquire("queue") == 1
        assert await second.acquire("translog") == 1
        assert await first.acquire("translog") is None

    async def test_a_round_takes_every_free_lease_and_renews_only_its_own_tenures_in_one_statement_each(
        self, pair: tuple[Leases, Leases], clock: ManualClock
    ) -> None:
        """Taking several leases at once skips those another holds; renewing several keeps only this holder's."""
        first, second = pair
        assert await second.acquire("translog") == 1
        assert await first.acquire_all(["queue", "translog", "relay"]) == {"queue": 1, "relay": 1}
        clock.ms += 3_000
        assert await second.acquire("relay") == 2
        assert await first.renew_all({"queue": 1, "relay": 1}) == {"queue"}
        assert await second.renew_all({"relay": 2, "translog": 1}) == {"relay", "translog"}

    async def test_fencing_refuses_a_late_write_and_its_transaction_rolls_back(
        self, pair: tuple[Leases, Leases], writer: Writer, clock: ManualClock
    ) -> None:
        """A write fenced with a superseded token raises inside its transaction, which then writes nothing."""
        first, second = pair
        old = await lapsed(first, clock, "queue")
        new = await second.acquire("queue")
        assert new == old + 1

        await writer.begin()
        with pytest.raises(LeaseLostError):
            await fence(writer, "queue", old)
            await writer.execute_fetchall("INSERT INTO rows VALUES (1)")
        await writer.rollback()

        await writer.begin()
        await fence(writer, "queue", new)
        await writer.execute_fetchall("INSERT INTO rows VALUES (2)")
        await writer.commit()
        assert [tuple(r) for r in await writer.execute_fetchall("SELECT n FROM rows")] == [(2,)]

    async def test_a_fenced_transaction_keeps_a_takeover_out_until_it_ends(
        self, pair: tuple[Leases, Leases], writer: Writer, clock: ManualClock
    ) -> None:
        """While a fenced write is open, a takeover cannot commit in between: it waits for the write to end, and
        then takes the lease with the next token."""
        first, second = pair
        token = await lapsed(first, clock, "queue")
        await writer.begin()
        await fence(writer, "queue", token)
        takeover = asyncio.create_task(second.acquire("queue"))
        done, _ = await asyncio.wait({takeover}, timeout=0.5)
        assert not done
        await writer.execute_fetchall("INSERT INTO rows VALUES (1)")
        await writer.commit()
        assert await asyncio.wait_for(takeover, 10) == token + 1


class SqliteWriter:
    """A projector's connection to the views file: batches in BEGIN IMMEDIATE transactions."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db

    async def begin(self) -> None:
        await self.db.execute("BEGIN IMMEDIATE")

    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] | None = None, /) -> Iterable[Any]:
        return await self.db.execute_fetchall(sql, parameters)

    async def commit(self) -> None:
        await self.db.execute("COMMIT")

    async def rollback(self) -> None:
        await self.db.execute("ROLLBACK")


class TestLeaseStoreOnSqlite(LeaseStoreContract):
    @pytest.fixture
    async def connections(self, tmp_path: Path) -> AsyncIterator[list[aiosqlite.Connection]]:
        opened: list[aiosqlite.Connection] = []
        yield opened
        for db in opened:
            await db.close()

    @pytest.fixture
    def connect(self, tmp_path: Path, connections: list[aiosqlite.Connection]) -> Connect:
        async def open_one() -> LeaseDatabase:
            db = await open_views(tmp_path / "views.sqlite")
            connections.append(db)
            return db

        return open_one

    @pytest.fixture
    async def writer(self, connect: Connect) -> Writer:
        db = await connect()
        assert isinstance(db, aiosqlite.Connection)
        await db.execute("CREATE TABLE rows (n INTEGER)")
        return SqliteWriter(db)


@pytest.fixture
async def views_connections(tmp_path: Path) -> AsyncIterator[list[aiosqlite.Connection]]:
    opened = [await open_views(tmp_path / "views.sqlite") for _ in range(2)]
    yield opened
    for db in opened:
        await db.close()


async def test_a_keeper_alone_takes_every_lease_at_start_and_releases_them_on_stop(
    views_connections: list[aiosqlite.Connection],
) -> None:
    """One process takes all its leases before start returns, names them sorted, and frees them when it stops."""
    keeper = LeaseKeeper(Leases(views_connections[0], "alone"), ["relay", "queue", "deliverer"])
    await keeper.start()
    try:
        assert keeper.held() == ["deliverer", "queue", "relay"]
        assert keeper.token("queue") == 1
    finally:
        await keeper.stop()
    assert keeper.held() == []
    other = Leases(views_connections[1], "other")
    assert await other.acquire("queue") == 2


async def test_a_keeper_stops_counting_a_lease_it_lost_on_renewal(
    views_connections: list[aiosqlite.Connection],
) -> None:
    """When its renewal finds another holder, the keeper no longer claims the lease and tries for it again."""
    clock = ManualClock()
    keeper = LeaseKeeper(Leases(views_connections[0], "first", now_ms=clock), ["queue"])
    await keeper.leases.create_table()
    await keeper.keep()
    assert keeper.holds("queue")
    clock.ms += 3_000
    assert await Leases(views_connections[1], "second", now_ms=clock).acquire("queue") == 2
    await keeper.keep()
    assert not keeper.holds("queue")
    assert keeper.held() == []
