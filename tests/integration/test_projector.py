"""The projector's life cycle: it stops when asked, whatever step it is in."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from exchange.eventstore.ledger import GroupCommit, Ledger
from exchange.readmodels.projector import Projector
from exchange.readmodels.views import open_views, tracked_position
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
