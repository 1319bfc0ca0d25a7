"""The lease store on the views file: one holder at a time, a new token for each tenure, late writes fenced off."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest

from exchange.readmodels.leases import LeaseKeeper, LeaseLostError, Leases, fence
from exchange.readmodels.views import open_views


class ManualClock:
    """Wall-clock milliseconds that move only when a test says so."""

    def __init__(self) -> None:
        self.ms = 1_000_000

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def connections(tmp_path: Path) -> AsyncIterator[list[aiosqlite.Connection]]:
    opened = [await open_views(tmp_path / "views.sqlite") for _ in range(3)]
    yield opened
    for db in opened:
        await db.close()


@pytest.fixture
async def pair(connections: list[aiosqlite.Connection], clock: ManualClock) -> tuple[Leases, Leases]:
    first = Leases(connections[0], "first", now_ms=clock)
    second = Leases(connections[1], "second", now_ms=clock)
    await first.create_table()
    await second.create_table()
    return first, second


async def test_a_free_lease_is_taken_with_token_one_and_refused_to_another_holder(pair: tuple[Leases, Leases]) -> None:
    """The first to ask gets the lease with token 1; while it is valid another holder gets nothing."""
    first, second = pair
    assert await first.acquire("queue") == 1
    assert await second.acquire("queue") is None
    assert (await second.holders())["queue"] == ("first", 1)


async def test_an_expired_lease_is_taken_over_with_the_next_token(
    pair: tuple[Leases, Leases], clock: ManualClock
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
    pair: tuple[Leases, Leases], clock: ManualClock
) -> None:
    """Renewing pushes the expiry on; once another holder took the lease, the old tenure cannot renew it."""
    first, second = pair
    token = await first.acquire("queue")
    assert token is not None
    clock.ms += 2_000
    assert await first.renew("queue", token)
    clock.ms += 2_000
    assert await second.acquire("queue") is None  # renewed 2 s ago: still valid
    clock.ms += 1_000
    assert await second.acquire("queue") == token + 1
    assert not await first.renew("queue", token)


async def test_a_released_lease_is_free_at_once(pair: tuple[Leases, Leases]) -> None:
    """A clean stop releases the lease: another holder takes it without waiting for the TTL."""
    first, second = pair
    token = await first.acquire("deliverer")
    assert token is not None
    await first.release("deliverer", token)
    assert await second.acquire("deliverer") == token + 1


async def test_releasing_a_superseded_tenure_leaves_the_new_holder_alone(
    pair: tuple[Leases, Leases], clock: ManualClock
) -> None:
    """A late release by an old tenure does not free the lease its successor holds."""
    first, second = pair
    old = await first.acquire("queue")
    assert old is not None
    clock.ms += 3_000
    assert await second.acquire("queue") == old + 1
    await first.release("queue", old)
    assert await first.acquire("queue") is None


async def test_leases_are_separate_per_follower(pair: tuple[Leases, Leases]) -> None:
    """Each follower has a lease of its own, so two processes can share the work."""
    first, second = pair
    assert await first.acquire("queue") == 1
    assert await second.acquire("translog") == 1
    assert await first.acquire("translog") is None


async def test_fencing_refuses_a_late_write_and_its_transaction_rolls_back(
    pair: tuple[Leases, Leases], connections: list[aiosqlite.Connection], clock: ManualClock
) -> None:
    """A write fenced with a superseded token raises inside its transaction, which then writes nothing."""
    first, second = pair
    writer = connections[2]
    await writer.execute("CREATE TABLE IF NOT EXISTS rows (n INTEGER)")
    old = await first.acquire("queue")
    assert old is not None
    clock.ms += 3_000
    new = await second.acquire("queue")
    assert new == old + 1

    await writer.execute("BEGIN IMMEDIATE")
    with pytest.raises(LeaseLostError):
        await fence(writer, "queue", old)
        await writer.execute("INSERT INTO rows VALUES (1)")
    await writer.execute("ROLLBACK")

    await writer.execute("BEGIN IMMEDIATE")
    await fence(writer, "queue", new)
    await writer.execute("INSERT INTO rows VALUES (2)")
    await writer.execute("COMMIT")
    assert [tuple(r) for r in await writer.execute_fetchall("SELECT n FROM rows")] == [(2,)]


async def test_a_fenced_transaction_keeps_a_takeover_out_until_it_ends(
    pair: tuple[Leases, Leases], connections: list[aiosqlite.Connection], clock: ManualClock
) -> None:
    """While a fenced write is open, a takeover cannot commit in between: it waits for the write's lock."""
    first, second = pair
    writer = connections[2]
    token = await first.acquire("queue")
    assert token is not None
    clock.ms += 3_000
    await writer.execute("PRAGMA busy_timeout=100")
    await writer.execute("BEGIN IMMEDIATE")
    await fence(writer, "queue", token)
    await second.db.execute("PRAGMA busy_timeout=100")
    with pytest.raises(aiosqlite.OperationalError, match="locked"):
        await second.acquire("queue")
    await writer.execute("COMMIT")
    await second.db.execute("PRAGMA busy_timeout=10000")
    assert await second.acquire("queue") == token + 1


async def test_a_keeper_alone_takes_every_lease_at_start_and_releases_them_on_stop(
    connections: list[aiosqlite.Connection],
) -> None:
    """One process takes all its leases before start returns, names them sorted, and frees them when it stops."""
    keeper = LeaseKeeper(Leases(connections[0], "alone"), ["relay", "queue", "deliverer"])
    await keeper.start()
    try:
        assert keeper.held() == ["deliverer", "queue", "relay"]
        assert keeper.token("queue") == 1
    finally:
        await keeper.stop()
    assert keeper.held() == []
    other = Leases(connections[1], "other")
    assert await other.acquire("queue") == 2


async def test_a_keeper_stops_counting_a_lease_it_lost_on_renewal(
    connections: list[aiosqlite.Connection], clock: ManualClock
) -> None:
    """When its renewal finds another holder, the keeper no longer claims the lease and tries for it again."""
    keeper = LeaseKeeper(Leases(connections[0], "first", now_ms=clock), ["queue"])
    await keeper.leases.create_table()
    await keeper.keep()
    assert keeper.holds("queue")
    clock.ms += 3_000
    assert await Leases(connections[1], "second", now_ms=clock).acquire("queue") == 2
    await keeper.keep()
    assert not keeper.holds("queue")
    assert keeper.held() == []
