"""Lists read from projections: participants, flow-control history and the aggregates plugins list.

Each is checked the same way: what a query lists right after a commit, that handling the same events again
changes no row, and that `rebuild` from zero gives rows identical to those the live projection wrote.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from uuid import UUID

import aiosqlite
import pytest

from exchange.domain.flow import FlowControl
from exchange.domain.participants import Participant
from exchange.eventstore.ledger import GroupCommit, Ledger
from exchange.functions.recall import GeneratorRecall
from exchange.functions.recall.domain import RecallBook
from exchange.functions.registry import Registry
from exchange.readmodels.flow_history import FlowHistory, FlowHistoryProjection
from exchange.readmodels.participants import ParticipantList, ParticipantsProjection, registered_before
from exchange.readmodels.plugin_aggregates import (
    NotListedError,
    PluginAggregates,
    plugin_aggregates_projections,
)
from exchange.readmodels.projector import Handler, Projector
from exchange.readmodels.rebuild import REBUILDABLE, rebuild
from tests.integration.conftest import BF, T0, Following

REGISTRY = Registry([GeneratorRecall()])


async def dump(db: aiosqlite.Connection, table: str) -> list[tuple[object, ...]]:
    async with db.execute(f"SELECT * FROM {table} ORDER BY 1, 2") as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


async def replayed(ledger: Ledger, views: aiosqlite.Connection, *handlers: Handler) -> None:
    """Handle every event of the log again, as a projector does after losing its tracked position."""
    for handler in handlers:
        await views.execute("DELETE FROM tracking WHERE name = ?", (handler.name,))
        projector = Projector(ledger, views, handler)
        await projector.prepare()
        assert projector.position == 0
        await projector.catch_up()
        await projector.stop()


async def assert_replay_and_rebuild_keep_rows(
    tmp_path: Path,
    ledger: Ledger,
    views: aiosqlite.Connection,
    following: Following,
    name: str,
    table: str,
) -> list[tuple[object, ...]]:
    """The live rows; handling everything again, then a rebuild from zero, leave exactly those rows."""
    live = await dump(views, table)
    await following.stop()
    handlers = REBUILDABLE[name].handlers(REGISTRY)
    await replayed(ledger, views, *handlers)
    assert await dump(views, table) == live
    await rebuild(tmp_path, name, REGISTRY)
    assert await dump(views, table) == live
    return live


async def register(committer: GroupCommit, *participant_ids: str) -> None:
    for participant_id in participant_ids:
        await committer.save(Participant(participant_id=participant_id, name=f"{participant_id} Ltd", roles=["LNSP"]))


async def test_participants_are_listed_in_the_order_they_registered_as_soon_as_they_are_committed(
    committer: GroupCommit, views: aiosqlite.Connection, following: Following
) -> None:
    """A participant registered a moment ago is in the list: the list waits for its projection."""
    [projector] = await following.follow(ParticipantsProjection())
    listed = ParticipantList(views, projector)
    assert await listed.all() == []
    await register(committer, "ZED", "ALPHA")
    participants = await listed.all()
    assert [(p.participant_id, p.name, p.roles) for p in participants] == [
        ("ZED", "ZED Ltd", ["LNSP"]),
        ("ALPHA", "ALPHA Ltd", ["LNSP"]),
    ]


async def test_registered_before_names_only_the_participants_the_log_holds_before_a_position(
    committer: GroupCommit, ledger: Ledger, views: aiosqlite.Connection, following: Following
) -> None:
    """What an outage at a position goes to, however far the projection has got since."""
    [projector] = await following.follow(ParticipantsProjection())
    await register(committer, "B1", "A1")
    middle = ledger.last_position()
    await register(committer, "C1")
    await projector.wait_for_latest()
    assert await registered_before(views, middle + 1) == ["A1", "B1"]
    assert await registered_before(views, ledger.last_position() + 1) == ["A1", "B1", "C1"]
    assert await registered_before(views, 1) == []


async def test_participants_replayed_or_rebuilt_from_zero_keep_identical_rows(
    tmp_path: Path, committer: GroupCommit, ledger: Ledger, views: aiosqlite.Connection, following: Following
) -> None:
    [projector] = await following.follow(ParticipantsProjection())
    await register(committer, "P1", "P2", "P3")
    await projector.wait_for_latest()
    live = await assert_replay_and_rebuild_keep_rows(tmp_path, ledger, views, following, "participants", "participants")
    assert len(live) == 3


async def changes(committer: GroupCommit) -> None:
    """Two queues of LNSP1 and one of LNSP2 going through statuses and a manual stop and start, a minute apart."""
    lnsp1 = FlowControl(participant_id="LNSP1", business_function_id=BF, low=1, warn=2, high=3)
    other = FlowControl(participant_id="LNSP1", business_function_id="gr", low=1, warn=2, high=3)
    lnsp2 = FlowControl(participant_id="LNSP2", business_function_id=BF, low=1, warn=2, high=3)
    lnsp1.change_status("Warned", 2, T0)
    lnsp2.change_status("Warned", 2, T0 + timedelta(minutes=1))
    lnsp1.switch_delivery(True, 2, T0 + timedelta(minutes=2))
    await committer.save(lnsp1, lnsp2)
    other.change_status("Stopped", 3, T0 + timedelta(minutes=3))
    lnsp1.switch_delivery(False, 2, T0 + timedelta(minutes=4))
    await committer.save(other, lnsp1)


async def test_flow_history_lists_every_change_oldest_first_with_each_filter(
    committer: GroupCommit, views: aiosqlite.Connection, following: Following
) -> None:
    """Filters on participant, function and a time range that includes both ends; a change just committed shows."""
    [projector] = await following.follow(FlowHistoryProjection())
    history = FlowHistory(views, projector)
    await changes(committer)

    everything = await history.search()
    assert [(c.participant_id, c.business_function_id, c.message_status, c.manual_stop) for c in everything] == [
        ("LNSP1", BF, "Warned", False),
        ("LNSP1", BF, "Warned", True),
        ("LNSP2", BF, "Warned", False),
        ("LNSP1", "gr", "Stopped", False),
        ("LNSP1", BF, "Warned", False),
    ]
    assert everything[0].changed_at == T0 and everything[0].message_count == 2
    assert [c.changed_at for c in await history.search("LNSP1", BF)] == [T0 + timedelta(minutes=m) for m in (0, 2, 4)]
    assert [c.participant_id for c in await history.search(business_function_id="gr")] == ["LNSP1"]
    window = await history.search(start=T0 + timedelta(minutes=1), end=T0 + timedelta(minutes=3))
    assert [c.changed_at for c in window] == [T0 + timedelta(minutes=m) for m in (2, 1, 3)]
    assert await history.search("NOBODY") == []


async def test_flow_history_replayed_or_rebuilt_from_zero_keeps_identical_rows(
    tmp_path: Path, committer: GroupCommit, ledger: Ledger, views: aiosqlite.Connection, following: Following
) -> None:
    [projector] = await following.follow(FlowHistoryProjection())
    await changes(committer)
    await projector.wait_for_latest()
    live = await assert_replay_and_rebuild_keep_rows(tmp_path, ledger, views, following, "flow_history", "flow_history")
    assert len(live) == 5


async def test_plugins_list_the_aggregates_they_created_oldest_first_and_only_those_they_declare(
    committer: GroupCommit, views: aiosqlite.Connection, following: Following
) -> None:
    """Ids in the order of creation, a book opened a moment ago included; an undeclared listing is refused."""
    handlers = plugin_aggregates_projections(REGISTRY)
    projectors = await following.follow(*handlers)
    listed = PluginAggregates(views, {h.topic: p for h, p in zip(handlers, projectors, strict=True)})
    assert await listed.created(RecallBook, "Opened") == []
    books = [RecallBook(duid=duid) for duid in ("UNIT2", "UNIT1", "UNIT3")]
    for book in books:
        await committer.save(book)
    books[0].record("plan", {"Version": 1})  # a later event of a listed aggregate lists it no second time
    await committer.save(books[0])
    assert await listed.created(RecallBook, "Opened") == [book.id for book in books]
    with pytest.raises(NotListedError):
        await listed.created(RecallBook, "PlanRecorded")
    with pytest.raises(NotListedError):
        await listed.created(Participant, "Registered")


async def test_plugin_aggregates_replayed_or_rebuilt_from_zero_keep_identical_rows(
    tmp_path: Path, committer: GroupCommit, ledger: Ledger, views: aiosqlite.Connection, following: Following
) -> None:
    projectors = await following.follow(*plugin_aggregates_projections(REGISTRY))
    for duid in ("U1", "U2"):
        await committer.save(RecallBook(duid=duid))
    await register(committer, "P1")  # not a listed event: no row
    for projector in projectors:
        await projector.wait_for_latest()
    live = await assert_replay_and_rebuild_keep_rows(
        tmp_path, ledger, views, following, "plugin_aggregates", "plugin_aggregates"
    )
    assert [UUID(hex=str(row[1])) for row in live] == sorted(
        (RecallBook.create_id(duid) for duid in ("U1", "U2")), key=lambda i: i.hex
    )


async def test_a_rebuild_forgets_listings_no_business_function_declares_any_more(
    tmp_path: Path, committer: GroupCommit, views: aiosqlite.Connection, following: Following
) -> None:
    """Rows and tracked positions of a listing given up go, so declaring it again later fills it from zero."""
    projectors = await following.follow(*plugin_aggregates_projections(REGISTRY))
    await committer.save(RecallBook(duid="U1"))
    await projectors[0].wait_for_latest()
    await following.stop()
    await rebuild(tmp_path, "plugin_aggregates", Registry([]))
    assert await dump(views, "plugin_aggregates") == []
    async with views.execute("SELECT name FROM tracking WHERE name LIKE 'plugin_aggregates%'") as cursor:
        assert await cursor.fetchall() == []


def test_idx_rebuild_offers_every_rebuildable_read_model() -> None:
    from exchange.cli import rebuild_view

    [view] = [param for param in rebuild_view.params if param.name == "view"]
    assert set(view.type.choices) == set(REBUILDABLE)  # type: ignore[attr-defined]
