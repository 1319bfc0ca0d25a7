"""The projector's life cycle: it stops when asked, whatever step it is in."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from exchange.eventstore.ledger import GroupCommit, Ledger
from exchange.kernel.errors import UnavailableError
from exchange.readmodels.projector import Projector
from exchange.readmodels.views import open_views, tracked_position
from exchange.services.health import Health
from tests.integration.conftest import make_message

SLOW_STATEMENT = 0.6  # seconds the connection is kept busy, so that the COMMIT waits behind it


class SlowDiskProjection:
    """A projection whose writes leave the connection busy for a while, as a slow disk would."""

    name = "slow"
    schema = ""
    topics: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.handled = asyncio.Event()
        self.busy: asyncio.Future[Any] | None = None

    async def act(self, events: list[tuple[int, Any]]) -> None:
        """Nothing outside the database."""

    async def handle(self, db: aiosqlite.Connection, events: list[tuple[int, Any]]) -> None:
        # Not awaited: the statement occupies the connection while the projector records and commits.
        self.busy = asyncio.ensure_future(db.execute("SELECT pause(?)", (SLOW_STATEMENT,)))
        self.handled.set()


@pytest.fixture
async def views(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    db = await open_views(tmp_path / "views.sqlite")
    await db.create_function("pause", 1, time.sleep)
    yield db
    await db.close()


async def test_projector_stopped_while_its_commit_is_in_flight_still_stops(
    ledger: Ledger, committer: GroupCommit, views: aiosqlite.Connection
) -> None:
    """stop() returns even when it cancels the projector while awaiting COMMIT (the COMMIT still goes through)."""
    [recording] = await committer.save(make_message("m1", ["LNSP1"]))
    handler = SlowDiskProjection()
    projector = Projector(ledger, views, handler)
    await projector.start()
    await asyncio.wait_for(handler.handled.wait(), 5)
    await asyncio.sleep(SLOW_STATEMENT / 3)  # the projector is now awaiting its COMMIT, queued behind the statement

    try:
        async with asyncio.timeout(SLOW_STATEMENT + 3):
            await projector.stop()
    except TimeoutError:
        pytest.fail("Projector.stop() never returned: the cancellation was swallowed and the projector ran on")
    finally:
        assert handler.busy is not None
        await handler.busy
    # Whether the batch counts as handled or not, the tracked position and the rows agree (one transaction).
    assert await tracked_position(views, "slow") in (0, recording.notification.id)


class FullDiskProjection:
    """A projection whose first writes fail as on a full disk, after writing part of the batch."""

    name = "flaky"
    schema = "CREATE TABLE IF NOT EXISTS flaky_rows (position INTEGER NOT NULL)"  # no key: a repeat would show
    topics: tuple[str, ...] = ()

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.failed = asyncio.Event()
        self.may_recover = asyncio.Event()

    async def act(self, events: list[tuple[int, Any]]) -> None:
        """Nothing outside the database."""

    async def handle(self, db: aiosqlite.Connection, events: list[tuple[int, Any]]) -> None:
        await db.executemany("INSERT INTO flaky_rows (position) VALUES (?)", [(position,) for position, _ in events])
        if self.failures or not self.may_recover.is_set():
            self.failures = max(0, self.failures - 1)
            self.failed.set()
            raise sqlite3.OperationalError("database or disk is full")


async def test_a_projector_that_fails_on_a_full_disk_recovers_by_itself_and_writes_each_event_once(
    ledger: Ledger, committer: GroupCommit, views: aiosqlite.Connection
) -> None:
    """Failed writes are rolled back and retried with backoff; health names the follower until it moves again."""
    recordings = [r for i in range(3) for r in await committer.save(make_message(f"m{i}", ["LNSP1"]))]
    handler = FullDiskProjection(failures=3)
    projector = Projector(ledger, views, handler)
    health = Health(ledger, lambda: True, [projector])
    await projector.start()
    try:
        await asyncio.wait_for(handler.failed.wait(), 5)
        assert await health.failing() == ["flaky"]
        assert not views.in_transaction  # the failed write holds no lock against the other followers
        # A read waiting on the stuck follower is told to come back (503 with Retry-After), not a 500.
        with pytest.raises(UnavailableError) as waited:
            await projector.wait_for(recordings[-1].notification.id, within=0.3)
        assert waited.value.retry_after is not None and waited.value.retry_after > 0

        handler.may_recover.set()  # space came back
        await projector.wait_for(recordings[-1].notification.id, within=10)
        assert await health.failing() == []
        assert projector.failing_since is None
    finally:
        await projector.stop()
    last = recordings[-1].notification.id
    assert projector.position == last
    assert await tracked_position(views, "flaky") == last
    rows = await (await views.execute("SELECT position FROM flaky_rows ORDER BY position")).fetchall()
    assert [position for (position,) in rows] == [r.notification.id for r in recordings]


async def test_health_does_not_name_a_failing_follower_that_has_nothing_left_to_handle(
    ledger: Ledger, views: aiosqlite.Connection
) -> None:
    """Only a follower behind the store counts as stuck: an empty store leaves nothing to fall behind on."""
    projector = Projector(ledger, views, FullDiskProjection(failures=1))
    projector.failing_since = time.monotonic()
    assert await Health(ledger, lambda: True, [projector]).failing() == []
