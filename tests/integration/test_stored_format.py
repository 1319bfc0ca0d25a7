"""How events are stored: msgspec-written JSON, zlib only for large events, and the previous format still read."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import JSONTranscoder, Transcoder

from exchange.domain.messages import Message
from exchange.eventstore.ledger import COMPRESS_FROM, GroupCommit, Ledger, MsgspecTranscoder
from tests.integration.conftest import make_message


class PreviousFormatLedger(Ledger):
    """The ledger as earlier releases stored events: eventsourcing's JSONTranscoder and zlib for every event."""

    env = {"COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor"}

    def construct_transcoder(self) -> Transcoder:
        transcoder = JSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder


def _stored_states(path: Path) -> list[bytes]:
    with sqlite3.connect(path) as db:
        return [bytes(row[0]) for row in db.execute("SELECT state FROM stored_events ORDER BY rowid")]


def _registered(transcoder: JSONTranscoder) -> JSONTranscoder:
    Ledger.register_transcodings(Ledger.in_memory(), transcoder)
    return transcoder


SAMPLE = {
    "id": UUID("12345678123456781234567812345678"),
    "at": datetime(2026, 7, 1, 12, 30, 15, 123456, tzinfo=UTC),
    "day": date(2026, 7, 1),
    "payload": b"\x00\x01binary",
    "price": Decimal("12.3400"),
    "nested": {"items": (1, "two", [UUID(int=3)]), "none": None, "flag": True, "ratio": 0.5},
    "looks_tagged": {"_type_": "not a tag", "other": 1},
}


@pytest.mark.parametrize(
    ("writer", "reader"),
    [("msgspec", "json"), ("json", "msgspec"), ("msgspec", "msgspec")],
)
def test_the_msgspec_transcoder_and_the_json_transcoder_read_each_others_output(writer: str, reader: str) -> None:
    """Values of every registered type come back equal whichever transcoder wrote them (tuples come back as lists)."""
    make = {"msgspec": MsgspecTranscoder, "json": JSONTranscoder}
    decoded = _registered(make[reader]()).decode(_registered(make[writer]()).encode(SAMPLE))
    assert decoded == {**SAMPLE, "nested": {**SAMPLE["nested"], "items": [1, "two", [UUID(int=3)]]}}
    assert type(decoded["day"]) is date and type(decoded["price"]) is Decimal


async def test_small_events_are_stored_as_json_and_large_ones_compressed(ledger_path: Path) -> None:
    """A small event is stored as its JSON (no zlib); one of COMPRESS_FROM bytes or more is zlib-compressed."""
    ledger = Ledger.open_sqlite(ledger_path)
    committer = GroupCommit(ledger)
    committer.start()
    try:
        await committer.save(make_message("small", ["LNSP1"]))
        await committer.save(make_message("large", ["LNSP1"], payload=b'{"data": "%s"}' % (b"x" * COMPRESS_FROM)))
    finally:
        await committer.stop()
    small, large = _stored_states(ledger_path)
    assert small.startswith(b"{") and b'"message_context_id":"small"' in small
    assert large.startswith(b"\x78") and len(large) < COMPRESS_FROM  # zlib, and it did compress
    for context_id in ("small", "large"):
        message = ledger.find(Message, Message.create_id(context_id))
        assert message is not None and message.message_context_id == context_id
    ledger.close()


def test_events_stored_in_the_previous_format_are_read_and_new_ones_added_beside_them(ledger_path: Path) -> None:
    """A store written by an earlier release (zlib throughout, json module) is read whole, old and new events alike."""
    old = PreviousFormatLedger.open_sqlite(ledger_path)
    before = make_message("before", ["LNSP1", "LNSP2"], received_at=datetime(2026, 6, 30, tzinfo=UTC))
    old.save(before)
    old.close()

    ledger = Ledger.open_sqlite(ledger_path)
    ledger.save(make_message("after", ["LNSP1"]))
    read = ledger.find(Message, Message.create_id("before"))
    assert read is not None
    assert (read.recipients, read.payload, read.received_at) == (before.recipients, before.payload, before.received_at)
    assert [ledger.decode(n).message_context_id for n in ledger.notifications(0, 10)] == ["before", "after"]
    ledger.close()
    first, second = _stored_states(ledger_path)
    assert first.startswith(b"\x78") and second.startswith(b"{")
