"""One follower of the log for every projector: each event read and decoded once, handed to each projector once."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from eventsourcing.persistence import Notification

from exchange.domain.messages import Delivery, Message
from exchange.domain.topics import topic_of
from exchange.eventstore.ledger import GroupCommit, Ledger
from exchange.readmodels import projector as projector_module
from exchange.readmodels.projector import LogFollower, Projector
from exchange.readmodels.views import open_views, tracked_position
from tests.integration.conftest import make_delivery, make_message

SUBMITTED = topic_of(Message, "Submitted")
QUEUED = topic_of(Delivery, "Queued")


class DecodeCountingLedger(Ledger):
    """The real ledger on SQLite, counting the stored events it decodes."""

    decoded = 0

    def decode(self, notification: Notification) -> Any:
        self.decoded += 1
        return super().decode(notification)


class RecordingProjection:
    """Writes one row per event it is handed, keyed by position: a second hand-over of one event would fail."""

    schema = ""

    def __init__(self, name: str, topics: tuple[str, ...], failing: bool = False) -> None:
        self.name = name
        self.topics = topics
        self.failed = asyncio.Event()
        self.handled = asyncio.Event()
        self.may_recover = asyncio.Event()
        if not failing:
            self.may_recover.set()
        self.schema = f"CREATE TABLE IF NOT EXISTS {name} (position INTEGER PRIMARY KEY, topic TEXT NOT NULL)"

    async def act(self, events: list[tuple[int, Any]]) -> None:
        """Nothing outside the database."""

    async def handle(self, db: aiosqlite.Connection, events: list[tuple[int, Any]]) -> None:
        if not self.may_recover.is_set():
            self.failed.set()
            raise sqlite3.OperationalError("database or disk is full")
        await db.executemany(
            f"INSERT INTO {self.name} VALUES (?, ?)",
            [(position, type(event).__qualname__) for position, event in events],
        )
        self.handled.set()


@pytest.fixture
def counting_ledger(tmp_path: Path) -> DecodeCountingLedger:
    return DecodeCountingLedger.open_sqlite(tmp_path / "events.sqlite")


@pytest.fixture
async def views(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    db = await open_views(tmp_path / "views.sqlite", derived_only=True)
    yield db
    await db.close()


async def _rows(views: aiosqlite.Connection, table: str) -> list[int]:
    async with views.execute(f"SELECT position FROM {table} ORDER BY position") as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def _follow(ledger: Ledger, views: aiosqlite.Connection, *handlers: RecordingProjection) -> LogFollower:
    # Projectors writing through one connection take turns, as in `idx serve`.
    writes = asyncio.Lock()
    projectors = [Projector(ledger, views, handler, writes=writes) for handler in handlers]
    for projector in projectors:
        await projector.prepare()
    follower = LogFollower(ledger, projectors)
    follower.start()
    return follower


async def test_each_event_is_decoded_once_and_handed_to_every_projector_of_its_topics_once(
    counting_ledger: DecodeCountingLedger, views: aiosqlite.Connection
) -> None:
    """Three projectors, two topics: every event decoded once in all, each projector gets exactly its events."""
    committer = GroupCommit(counting_ledger)
    committer.start()
    handlers = (
        RecordingProjection("submitted", (SUBMITTED,)),
        RecordingProjection("queued", (QUEUED,)),
        RecordingProjection("everything", (SUBMITTED, QUEUED)),
    )
    follower = await _follow(counting_ledger, views, *handlers)
    committer.on_commit(follower.poke)
    try:
        for i in range(40):
            await committer.save(make_message(f"m{i}", ["LNSP1"]))
            await committer.save(make_delivery(f"m{i}", position=i))
        last = counting_ledger.last_position()
        for projector in follower.projectors:
            await projector.wait_for(last, within=20)
    finally:
        await follower.stop()
        await committer.stop()
    assert counting_ledger.decoded == last == 80
    everything = await _rows(views, "everything")
    assert everything == list(range(1, 81))
    assert await _rows(views, "submitted") == everything[0::2]
    assert await _rows(views, "queued") == everything[1::2]
    for handler in handlers:
        # A projector records its position with its rows: at or after the last event of its topics.
        assert (await _rows(views, handler.name))[-1] <= await tracked_position(views, handler.name) <= last
    counting_ledger.close()


async def test_a_failing_projector_holds_no_other_back_and_catches_up_once_it_recovers(
    ledger: Ledger, committer: GroupCommit, views: aiosqlite.Connection
) -> None:
    """While one projector's writes fail it is reported failing and paused; the others handle everything."""
    recordings = [r for i in range(5) for r in await committer.save(make_message(f"m{i}", ["LNSP1"]))]
    flaky = RecordingProjection("flaky", (SUBMITTED,), failing=True)
    follower = await _follow(ledger, views, RecordingProjection("steady", (SUBMITTED,)), flaky)
    steady_projector, flaky_projector = follower.projectors
    last = recordings[-1].notification.id
    try:
        await asyncio.wait_for(flaky.failed.wait(), 10)
        for _ in range(1000):  # the failure reaches the follower once the failed transaction is rolled back
            if flaky_projector.stuck(last):
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("the failing projector was never reported stuck")
        await steady_projector.wait_for(last, within=10)
        assert flaky_projector.stuck(last)
        assert await _rows(views, "flaky") == []

        flaky.may_recover.set()  # space came back
        await flaky_projector.wait_for(last, within=20)
        assert flaky_projector.failing_since is None
    finally:
        await follower.stop()
    assert await _rows(views, "flaky") == await _rows(views, "steady") == [r.notification.id for r in recordings]


async def test_a_commit_wakes_the_follower_without_waiting_for_its_poll(
    ledger: Ledger, committer: GroupCommit, views: aiosqlite.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the fallback poll an hour long, events committed through the group commit are still handled at once."""
    monkeypatch.setattr(projector_module, "FALLBACK_POLL", 3600.0)
    woken = RecordingProjection("woken", (SUBMITTED,))
    follower = await _follow(ledger, views, woken)
    committer.on_commit(follower.poke)
    try:
        await asyncio.sleep(0.2)  # the follower found nothing and now waits
        [recording] = await committer.save(make_message("m1", ["LNSP1"]))
        # Watching the handler first: waiting through wait_for would poke the follower itself.
        await asyncio.wait_for(woken.handled.wait(), 10)
        await follower.projectors[0].wait_for(recording.notification.id)  # and its transaction is committed
    finally:
        await follower.stop()
    assert await _rows(views, "woken") == [recording.notification.id]
