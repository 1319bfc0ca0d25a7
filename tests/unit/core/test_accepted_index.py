"""The idempotency index as a data structure: entries added while merges run are never missed, and an entry costs
a few bytes, not a dictionary entry's hundred."""

from __future__ import annotations

import gc
import threading
import tracemalloc
from uuid import uuid4

from exchange.eventstore.accepted import AcceptedMessages


def test_entries_added_while_merges_run_are_never_missing() -> None:
    """A writer adds 20,000 entries, merges starting every 16 of them in threads of their own, while a reader asks
    for each entry as soon as its add returned: every one is found at its position, before and after the merges."""
    index = AcceptedMessages(ledger=None, recent_limit=16)  # type: ignore[arg-type]  # no read: candidates only
    ids = [uuid4() for _ in range(20_000)]
    added = 0
    missing: list[int] = []

    def write() -> None:
        nonlocal added
        for number, message_id in enumerate(ids, start=1):
            index.add(message_id, number)
            added = number

    writer = threading.Thread(target=write)
    writer.start()
    checked = 0
    while writer.is_alive() or checked < added:
        for number in range(checked + 1, added + 1):
            if number not in index.candidates(ids[number - 1]):
                missing.append(number)
        checked = max(checked, added)
    writer.join()
    index.merge()

    assert missing == []
    assert [index.candidates(message_id) for message_id in ids] == [[number] for number in range(1, 20_001)]
    assert len(index) == 20_000


def test_the_index_costs_under_30_bytes_a_message() -> None:
    """200,000 accepted messages held in the index cost less than 30 bytes each (a dictionary entry costs 100+)."""
    ids = [uuid4() for _ in range(200_000)]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        index = AcceptedMessages(ledger=None)  # type: ignore[arg-type]  # adds and merges read nothing
        for number, message_id in enumerate(ids, start=1):
            index.add(message_id, number)
        index.merge()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()

    assert len(index) == 200_000
    assert held / 200_000 < 30, f"{held / 200_000:.1f} bytes a message"
