"""Two processes' followers over one event store and one views file: one runs each follower, the other takes over
when it dies, from the recorded position, and a holder paused past its lease has its late write fenced off."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from structlog.testing import capture_logs

from exchange.domain.messages import Message
from exchange.domain.topics import topic_of
from exchange.eventstore.ledger import GroupCommit, Ledger
from exchange.readmodels.leases import LeaseKeeper, Leases
from exchange.readmodels.projector import LogFollower, Projector
from exchange.readmodels.views import open_views, tracked_position
from tests.integration.conftest import make_message

SUBMITTED = topic_of(Message, "Submitted")
# The contract: a dead holder's follower is taken over within 5 s.
TAKEOVER = 5.0


class CountingProjection:
    """One row per event keyed by position (handling an event twice would fail), and the positions it handled."""

    name = "counted"
    topics = (SUBMITTED,)
    schema = "CREATE TABLE IF NOT EXISTS counted (position INTEGER PRIMARY KEY)"

    def __init__(self) -> None:
        self.handled: list[int] = []
        # Cleared to hold the follower between reading a batch and writing it, as a SIGSTOP would.
        self.running = asyncio.Event()
        self.running.set()
        self.paused = asyncio.Event()
        self._changed = asyncio.Condition()
        # Set to make its writes fail, as on a full disk.
        self.failing = False

    async def handled_up_to(self, position: int, within: float = 10.0) -> None:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: position in self.handled)

    async def act(self, events: list[tuple[int, Any]]) -> None:
        if not self.running.is_set():
            self.paused.set()
            await self.running.wait()

    async def handle(self, db: aiosqlite.Connection, events: list[tuple[int, Any]]) -> None:
        if self.failing:
            raise sqlite3.OperationalError("database or disk is full")
        await db.executemany("INSERT INTO counted VALUES (?)", [(position,) for position, _ in events])
        self.handled.extend(position for position, _ in events)
        async with self._changed:
            self._changed.notify_all()


@dataclass
class Process:
    """What one `idx serve` process runs for one follower: its lease keeper, projector and log follower."""

    keeper: LeaseKeeper
    projector: Projector
    follower: LogFollower
    handler: CountingProjection
    connections: list[aiosqlite.Connection]

    async def die(self) -> None:
        """Stop as `kill -9` would: nothing released, the lease left to expire."""
        await self.keeper.stop(release=False)
        await self.follower.stop()

    async def close(self) -> None:
        await self.keeper.stop()
        await self.follower.stop()
        for db in self.connections:
            await db.close()


async def start_process(ledger: Ledger, views_path: Path, holder: str, renew_every: float = 1.0) -> Process:
    lease_db = await open_views(views_path)
    writer = await open_views(views_path, derived_only=True)
    keeper = LeaseKeeper(Leases(lease_db, holder), [CountingProjection.name], renew_every)
    handler = CountingProjection()
    projector = Projector(ledger, writer, handler)
    await projector.prepare()
    projector.leased_by(keeper)
    await keeper.start()
    follower = LogFollower(ledger, [projector])
    keeper.on_taken = follower.poke  # as start_exchange wires it
    follower.start()
    return Process(keeper, projector, follower, handler, [lease_db, writer])


@pytest.fixture
def first_renews_every() -> float:
    return 1.0


@pytest.fixture
async def two(
    ledger: Ledger, ledger_path: Path, tmp_path: Path, first_renews_every: float
) -> AsyncIterator[tuple[Process, Process]]:
    """Process "first" starts first and takes the lease; "second" reads the same event store through its own
    ledger."""
    other_ledger = Ledger.open_sqlite(ledger_path)
    first = await start_process(ledger, tmp_path / "views.sqlite", "first", first_renews_every)
    second = await start_process(other_ledger, tmp_path / "views.sqlite", "second")
    yield first, second
    await first.close()
    await second.close()
    other_ledger.close()


async def _submit(committer: GroupCommit, names: range) -> int:
    recordings = [r for i in names for r in await committer.save(make_message(f"m{i}", ["LNSP1"]))]
    return recordings[-1].notification.id


async def _rows(db: aiosqlite.Connection) -> list[int]:
    return [row[0] for row in await db.execute_fetchall("SELECT position FROM counted ORDER BY position")]


async def test_only_the_holder_handles_and_the_other_reads_its_recorded_position(
    two: tuple[Process, Process], committer: GroupCommit
) -> None:
    """The holder handles every event; the other handles none, yet its readers wait for the holder's commits."""
    first, second = two
    assert first.keeper.held() == ["counted"] and second.keeper.held() == []
    last = await _submit(committer, range(20))
    await second.projector.wait_for(last, within=10)  # read-your-writes in the process that does not follow
    assert first.handler.handled == list(range(1, last + 1))
    assert second.handler.handled == []
    assert await tracked_position(first.connections[0], "counted") == last


async def test_a_dead_holders_follower_is_taken_over_within_5_s_from_the_recorded_position(
    two: tuple[Process, Process], committer: GroupCommit
) -> None:
    """After the holder dies, the other process takes the lease within 5 s and handles exactly what came after."""
    first, second = two
    before = await _submit(committer, range(10))
    await first.projector.wait_for(before, within=10)
    await first.die()
    died = time.monotonic()
    after = await _submit(committer, range(10, 20))

    await second.handler.handled_up_to(after, within=TAKEOVER + 5)
    assert time.monotonic() - died <= TAKEOVER
    await second.projector.wait_for(after)  # committed
    assert second.keeper.held() == ["counted"]
    assert first.handler.handled == list(range(1, before + 1))
    assert second.handler.handled == list(range(before + 1, after + 1))
    assert await _rows(second.connections[0]) == list(range(1, after + 1))


@pytest.mark.parametrize("first_renews_every", [3600.0])  # frozen: it never renews after taking the lease
async def test_a_holder_paused_past_its_lease_has_its_late_write_fenced_off(
    two: tuple[Process, Process], committer: GroupCommit
) -> None:
    """A holder frozen between reading a batch and writing it loses the lease; on waking, its write is refused and
    rolled back, and it stops following while the new holder has handled those events once."""
    first, second = two
    first.handler.running.clear()
    last = await _submit(committer, range(5))
    await asyncio.wait_for(first.handler.paused.wait(), 10)

    await second.handler.handled_up_to(last, within=TAKEOVER + 5)
    await second.projector.wait_for(last)
    with capture_logs() as logs:
        first.handler.running.set()  # wakes up and writes what it read before the takeover
        async with asyncio.timeout(10):
            while not any(entry["event"] == "follower_fenced_off" for entry in logs):  # noqa: ASYNC110 -- a list
                await asyncio.sleep(0.01)

    assert first.handler.handled == []  # its transaction was refused before anything was written
    assert first.projector.position == 0
    assert not await first.projector.may_run()
    assert second.handler.handled == list(range(1, last + 1))
    assert await _rows(second.connections[0]) == list(range(1, last + 1))


@pytest.mark.parametrize("first_renews_every", [3600.0])  # it never renews: its lease ends 3 s after the start
async def test_a_follower_whose_lease_passed_to_another_process_is_no_longer_reported_stuck_here(
    two: tuple[Process, Process], committer: GroupCommit
) -> None:
    """Failures count against the process that holds the lease: once another took it over and moves on, the
    process that failed no longer names the follower in /healthz."""
    first, second = two
    first.handler.failing = True
    last = await _submit(committer, range(3))
    async with asyncio.timeout(10):
        while not first.projector.stuck(last):  # noqa: ASYNC110 -- set by the follower's failed step
            await asyncio.sleep(0.01)

    await second.handler.handled_up_to(last, within=TAKEOVER + 5)
    async with asyncio.timeout(10):
        while first.projector.stuck(last):  # noqa: ASYNC110 -- cleared by the follower's next try
            await asyncio.sleep(0.05)
    assert first.handler.handled == []
