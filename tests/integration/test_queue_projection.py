"""Participants' queues: the projection of delivery events into `queue_items`, and the list call over it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiosqlite
import pytest

from exchange.domain.markettime import MARKET_TIME
from exchange.domain.messages import Delivery
from exchange.eventstore.ledger import GroupCommit, Ledger
from exchange.kernel.errors import UnavailableError
from exchange.kernel.paging import CursorError
from exchange.readmodels.projector import Projector
from exchange.readmodels.queue import QueueProjection, QueueQuery, is_queued, list_queue
from exchange.readmodels.views import open_views, tracked_position
from tests.integration.conftest import BF, RESOURCE, T0, make_delivery


@pytest.fixture
async def projector(ledger: Ledger, views: aiosqlite.Connection) -> AsyncIterator[Projector]:
    """A running queue projection over the ledger."""
    running = Projector(ledger, views, QueueProjection())
    await running.start()
    yield running
    await running.stop()


async def _save(committer: GroupCommit, *deliveries: Delivery) -> int:
    """Save deliveries; the position of the last event recorded."""
    position = 0
    for delivery in deliveries:
        recordings = await committer.save(delivery)
        position = max(position, *(r.notification.id for r in recordings))
    return position


async def _list(db: aiosqlite.Connection, recipient: str = "LNSP1", **options: object) -> list[str]:
    page = await list_queue(
        db, QueueQuery(recipient=recipient, business_function_id=BF, resource_id=RESOURCE, **options)
    )  # type: ignore[arg-type]
    return [item.message_context_id for item in page.items]


async def _rows(db: aiosqlite.Connection) -> list[tuple[object, ...]]:
    async with db.execute("SELECT * FROM queue_items ORDER BY delivery_id") as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


# Submission positions deliberately out of step with the order of saving.
MIXED = [
    ("low-1", "Low", 1),
    ("high-5", "High", 5),
    ("medium-2", "Medium", 2),
    ("high-3", "High", 3),
    ("low-4", "Low", 4),
    ("medium-6", "Medium", 6),
]


@pytest.fixture
async def mixed_queue(committer: GroupCommit, projector: Projector) -> int:
    """LNSP1's queue with two deliveries of each priority, and one delivery for LNSP2; the last position."""
    deliveries = [make_delivery(ctx, "LNSP1", priority, position) for ctx, priority, position in MIXED]
    deliveries.append(make_delivery("other", "LNSP2", "High", 7))
    last = await _save(committer, *deliveries)
    await projector.wait_for(last)
    return last


async def test_saved_deliveries_become_queue_rows(
    committer: GroupCommit, projector: Projector, views: aiosqlite.Connection
) -> None:
    """A saved Delivery shows up in its recipient's queue with what the list call reports."""
    delivery = make_delivery("m1", "LNSP1", "High", position=42)
    await projector.wait_for(await _save(committer, delivery))

    page = await list_queue(views, QueueQuery(recipient="LNSP1", business_function_id=BF, resource_id=RESOURCE))
    assert page.total_records == 1
    assert page.next_cursor is None
    [item] = page.items
    assert item.message_context_id == "m1"
    assert item.initiating_participant_id == "MDP1"
    assert item.priority == "High"
    assert item.message_type == "BPQD"
    assert item.size == delivery.size
    assert item.created_date_time == "2026-07-01T10:00:42.000+10:00"
    assert item.queued_date_time == "2026-07-01T10:00:42.005+10:00"
    assert await is_queued(views, "LNSP1", "m1", BF, RESOURCE)
    assert not await is_queued(views, "LNSP2", "m1", BF, RESOURCE)


async def test_list_orders_high_medium_low_then_submission_position(
    mixed_queue: int, views: aiosqlite.Connection
) -> None:
    """The queue lists High before Medium before Low, and by submission position within a priority."""
    assert await _list(views) == ["high-3", "high-5", "medium-2", "medium-6", "low-1", "low-4"]


async def test_list_shows_only_the_callers_queue(mixed_queue: int, views: aiosqlite.Connection) -> None:
    """Another recipient's deliveries, and other functions or resources, stay out of the caller's list."""
    assert await _list(views, "LNSP2") == ["other"]
    other_resource = await list_queue(
        views, QueueQuery(recipient="LNSP1", business_function_id=BF, resource_id="elsewhere")
    )
    assert other_resource.items == []
    assert other_resource.total_records == 0


@pytest.mark.parametrize(
    ("priority", "expected"),
    [("High", ["high-3", "high-5"]), ("Medium", ["medium-2", "medium-6"]), ("Low", ["low-1", "low-4"])],
)
async def test_priority_filter_keeps_only_that_priority(
    mixed_queue: int, views: aiosqlite.Connection, priority: str, expected: list[str]
) -> None:
    """A priority filter lists only the deliveries of that priority, in submission order."""
    assert await _list(views, priority=priority) == expected


async def test_date_filters_are_inclusive_and_compare_instants(mixed_queue: int, views: aiosqlite.Connection) -> None:
    """fromDateTime and toDateTime include their bounds, whatever UTC offset they are written in."""
    # Deliveries were submitted at T0 + position seconds; the bounds are positions 2 and 4 in market time.
    start, end = (
        (T0 + timedelta(seconds=2)).astimezone(MARKET_TIME),
        (T0 + timedelta(seconds=4)).astimezone(MARKET_TIME),
    )
    assert await _list(views, from_date_time=start, to_date_time=end) == ["high-3", "medium-2", "low-4"]
    assert await _list(views, from_date_time=start) == ["high-3", "high-5", "medium-2", "medium-6", "low-4"]
    assert await _list(views, to_date_time=start) == ["medium-2", "low-1"]
    page = await list_queue(
        views, QueueQuery(recipient="LNSP1", business_function_id=BF, resource_id=RESOURCE, from_date_time=end)
    )
    assert page.total_records == 3


async def test_cursor_paging_visits_every_item_exactly_once(mixed_queue: int, views: aiosqlite.Connection) -> None:
    """Following next_cursor with itemCount=2 yields the whole queue, in order, with no repeats or gaps."""
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await list_queue(
            views,
            QueueQuery(recipient="LNSP1", business_function_id=BF, resource_id=RESOURCE, item_count=2, cursor=cursor),
        )
        pages += 1
        assert len(page.items) <= 2
        assert page.total_records == 6
        seen.extend(item.message_context_id for item in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
        assert pages < 10
    assert pages == 3
    assert seen == ["high-3", "high-5", "medium-2", "medium-6", "low-1", "low-4"]


async def test_cursor_paging_respects_the_priority_filter(mixed_queue: int, views: aiosqlite.Connection) -> None:
    """Paging with a filter stays inside the filter and ends when it is exhausted."""
    first = await list_queue(
        views,
        QueueQuery(recipient="LNSP1", business_function_id=BF, resource_id=RESOURCE, priority="Low", item_count=1),
    )
    assert [i.message_context_id for i in first.items] == ["low-1"]
    assert first.next_cursor is not None
    second = await list_queue(
        views,
        QueueQuery(
            recipient="LNSP1",
            business_function_id=BF,
            resource_id=RESOURCE,
            priority="Low",
            item_count=1,
            cursor=first.next_cursor,
        ),
    )
    assert [i.message_context_id for i in second.items] == ["low-4"]
    assert second.next_cursor is None


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("!!!", id="not-base64"),
        pytest.param("abc", id="not-utf8"),
        pytest.param("MToyOjM", id="three-fields"),
        pytest.param("YTpi", id="not-numbers"),
        pytest.param("", id="empty"),
        # "99999999999999999999:1": numbers, but beyond what SQLite can compare with.
        pytest.param("OTk5OTk5OTk5OTk5OTk5OTk5OTk6MQ", id="out-of-range"),
    ],
)
async def test_bogus_cursor_is_refused(mixed_queue: int, views: aiosqlite.Connection, cursor: str) -> None:
    """A cursor this exchange did not hand out is refused with CursorError (a 400), never another error."""
    with pytest.raises(CursorError):
        await _list(views, cursor=cursor)


async def _remove(ledger: Ledger, committer: GroupCommit, context_id: str) -> int:
    """Record the removal of LNSP1's delivery of `context_id`, a minute after T0; the event's position."""
    delivery = ledger.find(Delivery, Delivery.create_id(context_id, "LNSP1"))
    assert delivery is not None
    delivery.remove(removed_at=T0 + timedelta(minutes=1))
    return await _save(committer, delivery)


async def test_removed_delivery_leaves_the_queue(
    committer: GroupCommit, ledger: Ledger, projector: Projector, mixed_queue: int, views: aiosqlite.Connection
) -> None:
    """Recording a delivery's removal takes it off the queue once the projection reached that event."""
    await projector.wait_for(await _remove(ledger, committer, "medium-2"))

    assert await _list(views) == ["high-3", "high-5", "medium-6", "low-1", "low-4"]
    assert not await is_queued(views, "LNSP1", "medium-2", BF, RESOURCE)


async def test_replaying_from_zero_leaves_the_same_rows(
    committer: GroupCommit, ledger: Ledger, projector: Projector, mixed_queue: int, views: aiosqlite.Connection
) -> None:
    """Handling every event again (tracking reset to 0) changes no row: the projection is idempotent."""
    last = await _remove(ledger, committer, "low-1")
    await projector.wait_for(last)
    await projector.stop()
    before = await _rows(views)
    assert len(before) == 6

    await views.execute("UPDATE tracking SET position = 0 WHERE name = 'queue'")
    replay = Projector(ledger, views, QueueProjection())
    await replay.start()
    try:
        assert replay.position == 0
        await replay.wait_for(last)
        assert await _rows(views) == before
        assert await tracked_position(views, "queue") == last
    finally:
        await replay.stop()


async def test_second_projector_over_the_same_rows_changes_nothing(
    ledger: Ledger, mixed_queue: int, views: aiosqlite.Connection, tmp_path: Path
) -> None:
    """A projection under another tracking name, replaying everything onto the same rows, leaves them as they are."""

    class QueueAgain(QueueProjection):
        name = "queue-again"

    before = await _rows(views)
    second_db = await open_views(tmp_path / "views.sqlite")
    second = Projector(ledger, second_db, QueueAgain())
    await second.start()
    try:
        await second.wait_for(mixed_queue)
        assert await _rows(views) == before
        assert await tracked_position(views, "queue-again") == mixed_queue
    finally:
        await second.stop()
        await second_db.close()


async def test_tracked_position_is_persisted_and_resumed(
    committer: GroupCommit, ledger: Ledger, projector: Projector, mixed_queue: int, tmp_path: Path
) -> None:
    """The projection records how far it got; a new projector on a new connection starts from there."""
    await projector.stop()
    reopened = await open_views(tmp_path / "views.sqlite")
    try:
        assert await tracked_position(reopened, "queue") == mixed_queue
        resumed = Projector(ledger, reopened, QueueProjection())
        await resumed.start()
        try:
            assert resumed.position == mixed_queue
            later = await _save(committer, make_delivery("later", "LNSP1", "High", 8))
            await resumed.wait_for(later)
            assert await _list(reopened) == ["high-3", "high-5", "later", "medium-2", "medium-6", "low-1", "low-4"]
        finally:
            await resumed.stop()
    finally:
        await reopened.close()


async def test_wait_for_a_position_beyond_the_log_times_out(projector: Projector, mixed_queue: int) -> None:
    """wait_for does not pretend: a position never reached ends in UnavailableError (503 with Retry-After)."""
    with pytest.raises(UnavailableError):
        await projector.wait_for(mixed_queue + 1, within=0.3)
