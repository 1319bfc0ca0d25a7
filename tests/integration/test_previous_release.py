"""Today's projections replay the previous release's events into exactly the rows that release wrote."""

from __future__ import annotations

import shutil
import sqlite3
import zlib
from pathlib import Path
from typing import Any

from exchange.domain.messages import Delivery
from exchange.domain.participants import Participant
from exchange.domain.topics import topic_of
from exchange.eventstore.ledger import Ledger
from exchange.readmodels.merkle_log import MerkleLogProjection
from exchange.readmodels.rebuild import REBUILDABLE, rebuild
from tests.fixtures.previous_release import EXPECTED, unpack

# Read models made since that release: rebuilt from its events, with nothing of theirs to compare.
LISTS = ("participants", "flow_history", "acknowledgements", "plugin_aggregates", "plugin_messages")
# The verifiable log came later still: its tables, the signed tree heads' among them (made by `idx serve`, not here).
LOG_TABLES = ("log_leaves", "log_nodes", "log_deliveries", "log_parties", "log_heads")


def ledger_participants(data_dir: Path) -> list[Participant]:
    ledger = Ledger.open_sqlite(data_dir / "events.sqlite")
    try:
        registered = ledger.notifications(0, 1000, (topic_of(Participant, "Registered"),))
        return [ledger.decode(n) for n in registered]
    finally:
        ledger.close()


def dump(views: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a views file, in a fixed order (so insertion order does not matter)."""
    connection = sqlite3.connect(views)
    try:
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: sorted(connection.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
    finally:
        connection.close()


async def test_each_read_model_rebuilt_from_the_old_event_store_equals_the_old_views(tmp_path: Path) -> None:
    """Today's projections replay ab1e414's events into exactly the rows ab1e414's projections wrote.

    Every table is compared row for row except `tracking`, whose rows of the rebuilt projections differ for a
    reason that is not a difference in content. A live projector writes its position only in a transaction that
    handled events of its topics, at the log's end as it was then; later events of other topics move it on in
    memory only. So ab1e414 left `archive` and `queue` at 57, their last own event, while the translog, which
    also handles the ten `Retrieved` events at the end, is at 67. A rebuild replays in one pass and records the
    log's end (67) for each. Hence: for each rebuilt projection, its new position is what `rebuild` returned,
    the log's last notification, and the old one was not beyond it (the rows being equal shows nothing of its
    topics lay between). The tracking rows `rebuild` leaves alone (`relay`, `notifications`) must be equal, as
    must every other table, `event_sequences` included (copied unchanged: `rebuild` does not touch it).

    The read models that release did not have (the lists: participants, flow-control history, acknowledgements,
    plugins' aggregates) are made from its events too, and tracked at the log's end.
    """
    original = unpack(tmp_path / "original")
    rebuilt = tmp_path / "rebuilt"
    shutil.copytree(original, rebuilt)
    before = dump(original / "views.sqlite")
    assert {"translog_rows", "translog_history", "archive_items", "queue_items", "pending_items"} <= set(before)
    assert (len(before["translog_rows"]), len(before["queue_items"]), len(before["pending_items"])) == (19, 10, 2)

    reached = {name: await rebuild(rebuilt, name) for name in REBUILDABLE}

    after = dump(rebuilt / "views.sqlite")
    assert set(after) == set(before) | set(LISTS) | set(LOG_TABLES)
    for table in before.keys() - {"tracking"}:
        assert after[table] == before[table], f"{table} differs once rebuilt from the old event store"
    old_positions, new_positions = dict(before["tracking"]), dict(after["tracking"])
    ledger = Ledger.open_sqlite(original / "events.sqlite")
    try:
        last = ledger.last_position()
    finally:
        ledger.close()
    assert last == 67
    facts = Ledger.open_sqlite(original / "events.sqlite")
    try:
        # One leaf per accepted, queued, deleted or expired fact of the old release.
        assert len(after["log_leaves"]) == len(facts.notifications(0, 1000, MerkleLogProjection.topics)) > 0
    finally:
        facts.close()
    for name in REBUILDABLE.keys() - {*LISTS, "log"}:
        assert new_positions.pop(name) == reached[name] == last, name
        assert old_positions.pop(name) <= last, name
    assert {p.participant_id for p in ledger_participants(original)} == {row[0] for row in after["participants"]}
    for name in (*LISTS, "log"):
        assert reached[name] == last, name
        for tracked in [t for t in new_positions if t == name or t.startswith(f"{name}:")]:
            assert new_positions.pop(tracked) == last, tracked
    assert new_positions == old_positions  # relay, notifications: untouched
    assert old_positions.keys() == {"relay", "notifications"}


def test_a_delete_stored_before_deletes_could_be_signed_loads_with_no_signature(tmp_path: Path) -> None:
    """ab1e414's `Delivery.Removed` events have no `recipient_signature`: decoded and replayed, they read as None."""
    data_dir = unpack(tmp_path)
    ledger = Ledger.open_sqlite(data_dir / "events.sqlite")
    try:
        [stored] = ledger.notifications(0, 1000, (topic_of(Delivery, "Removed"),))
        assert b"recipient_signature" not in zlib.decompress(stored.state)  # the store compresses with zlib
        removed = ledger.decode(stored)
        delivery = ledger.find(Delivery, removed.originator_id)
    finally:
        ledger.close()
    assert removed.recipient_signature is None
    assert delivery is not None and delivery.message_context_id == EXPECTED["messages"]["m2"]
    assert (delivery.in_queue, delivery.recipient_signature) == (False, None)
