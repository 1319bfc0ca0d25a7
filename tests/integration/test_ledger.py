"""The storage contract of the event store and its group commit, written once and run on SQLite and PostgreSQL.

As eventsourcing's own recorder test cases are subclassed per backend, `LedgerContract` holds the tests and each
backend's subclass says only how to open a ledger on a fresh store of its kind.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from eventsourcing.persistence import Recording

from exchange.domain.messages import Message
from exchange.domain.participants import Participant
from exchange.domain.topics import topic_of
from exchange.eventstore.ledger import (
    GroupCommit,
    Ledger,
    create_postgres_tables,
    postgres_persistence,
    sqlite_persistence,
)
from exchange.kernel.errors import ConcurrencyError
from tests.integration.conftest import make_message


class CountingLedger(Ledger):
    """The real ledger, counting its save calls (one per transaction)."""

    saves = 0

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[Any]]:
        self.saves += 1
        return super().save(*objs, **kwargs)


async def _save_concurrently(committer: GroupCommit, *aggregates: Any) -> list[Any]:
    """Each aggregate saved by its own caller, all queued before the committer next runs."""
    return await asyncio.gather(*(committer.save(a) for a in aggregates), return_exceptions=True)


L = TypeVar("L", bound=Ledger)


class Store:
    """A fresh store of one backend: every ledger opened on it sees what the ones before it committed."""

    def __init__(self, persistence: Mapping[str, str]) -> None:
        self.persistence = persistence

    def open(self, cls: type[L] = Ledger) -> L:
        return cls.open(self.persistence)


class LedgerContract:
    """What the exchange needs of its event store, whichever backend holds it. Subclasses provide `store`."""

    @pytest.fixture
    def ledger(self, store: Store) -> Iterator[CountingLedger]:
        """A ledger on the store, counting its transactions for the tests of batching."""
        opened = store.open(CountingLedger)
        yield opened
        opened.close()

    @pytest.fixture
    async def committer(self, ledger: Ledger) -> AsyncIterator[GroupCommit]:
        group = GroupCommit(ledger)
        group.start()
        yield group
        await group.stop()

    async def test_group_commit_saves_concurrent_callers_in_one_transaction(
        self, committer: GroupCommit, ledger: CountingLedger
    ) -> None:
        """Many concurrent callers are committed in one transaction and each hears back its own recordings."""
        messages = [make_message(f"ctx-{i}", ["LNSP1"]) for i in range(50)]
        results = await _save_concurrently(committer, *messages)
        assert ledger.saves == 1
        for message, recordings in zip(messages, results, strict=True):
            assert [r.domain_event.originator_id for r in recordings] == [message.id]
            assert recordings[0].notification.id > 0
        positions = [r[0].notification.id for r in results]
        assert sorted(positions) == list(range(1, 51))
        assert ledger.last_position() == 50

    async def test_group_commit_answers_a_caller_saving_several_aggregates_with_all_of_its_recordings(
        self, committer: GroupCommit, ledger: Ledger
    ) -> None:
        """A caller that saves two aggregates together gets both recordings, and no one else's."""
        mine = (make_message("a", ["LNSP1"]), Participant(participant_id="MDP1", name="Meter data", roles=["MDP"]))
        results = await asyncio.gather(committer.save(*mine), committer.save(make_message("b", ["LNSP2"])))
        assert {r.domain_event.originator_id for r in results[0]} == {a.id for a in mine}
        assert [r.domain_event.originator_id for r in results[1]] == [Message.create_id("b")]

    async def test_duplicate_message_in_a_batch_fails_only_its_caller(
        self, committer: GroupCommit, ledger: CountingLedger
    ) -> None:
        """Two Messages with one derived id in a batch: exactly one caller gets ConcurrencyError, all others commit."""
        first, twin = make_message("dup", ["LNSP1"], payload=b"first"), make_message("dup", ["LNSP1"], b"twin")
        others = [make_message(f"other-{i}", ["LNSP1"]) for i in range(5)]
        results = await _save_concurrently(committer, first, *others, twin)

        assert ledger.saves > 1, "the batch should have failed and been retried per caller"
        assert isinstance(results[-1], ConcurrencyError)
        assert [type(r) for r in results[:-1]] == [list] * 6
        assert all(len(r) == 1 for r in results[:-1])
        stored = ledger.find(Message, Message.create_id("dup"))
        assert stored is not None
        assert stored.payload == b"first"
        for other in others:
            assert ledger.find(Message, other.id) is not None
        assert len(ledger.notifications(0, 100, (topic_of(Message, "Submitted"),))) == 6

    async def test_duplicate_participant_in_a_batch_fails_only_its_caller(
        self, committer: GroupCommit, ledger: Ledger
    ) -> None:
        """Registering one participant id twice in a batch fails the second caller; the other registration stands."""
        results = await _save_concurrently(
            committer,
            Participant(participant_id="MC1", name="First", roles=["MC"]),
            Participant(participant_id="LNSP1", name="Network", roles=["LNSP"]),
            Participant(participant_id="MC1", name="Second", roles=["MC"]),
        )
        assert isinstance(results[2], ConcurrencyError)
        assert not isinstance(results[0], BaseException)
        assert not isinstance(results[1], BaseException)
        mc1 = ledger.find(Participant, Participant.create_id("MC1"))
        assert mc1 is not None
        assert mc1.name == "First"
        assert ledger.find(Participant, Participant.create_id("LNSP1")) is not None

    async def test_an_existing_id_saved_again_is_a_concurrency_error(
        self, committer: GroupCommit, ledger: Ledger
    ) -> None:
        """A message id already committed in an earlier batch cannot be created again."""
        await committer.save(make_message("once", ["LNSP1"]))
        with pytest.raises(ConcurrencyError):
            await committer.save(make_message("once", ["LNSP1"]))
        assert ledger.last_position() == 1

    async def test_committer_lives_on_after_a_failed_batch(self, committer: GroupCommit, ledger: Ledger) -> None:
        """After a caller's conflict, later saves are committed as usual."""
        await committer.save(make_message("x", ["LNSP1"]))
        with pytest.raises(ConcurrencyError):
            await committer.save(make_message("x", ["LNSP1"]))
        recordings = await committer.save(make_message("y", ["LNSP1"]))
        assert ledger.find(Message, Message.create_id("y")) is not None
        assert recordings[0].notification.id == ledger.last_position()

    async def test_save_before_start_is_refused(self, ledger: Ledger) -> None:
        """A group commit that was not started refuses saves rather than leaving callers waiting."""
        with pytest.raises(RuntimeError):
            await GroupCommit(ledger).save(make_message("early", ["LNSP1"]))

    async def test_reopened_ledger_finds_every_committed_batch(self, store: Store) -> None:
        """What the group commit acknowledged is on disk: a ledger opened afresh on the same file finds all of it."""
        ledger = store.open()
        committer = GroupCommit(ledger, max_batch=7)
        committer.start()
        messages = [make_message(f"durable-{i}", ["LNSP1", "LNSP2"]) for i in range(30)]
        await _save_concurrently(committer, *messages)
        await committer.save(Participant(participant_id="LNSP1", name="Network", roles=["LNSP"]))
        await committer.stop()
        ledger.close()

        reopened = store.open()
        try:
            assert reopened.last_position() == 31
            for message in messages:
                found = reopened.find(Message, message.id)
                assert found is not None
                assert found.recipients == ["LNSP1", "LNSP2"]
                assert found.received_at == message.received_at
            assert reopened.find(Participant, Participant.create_id("LNSP1")) is not None
            positions = [n.id for n in reopened.notifications(0, 100)]
            assert positions == list(range(1, 32))
        finally:
            reopened.close()

    @pytest.mark.parametrize(
        "payload",
        [
            pytest.param(b"", id="empty"),
            pytest.param(bytes(range(256)) * 4, id="every-byte"),
            pytest.param(b'{"json": "\\u00e9"}\n\x00\xff', id="json-and-binary"),
            pytest.param(os.urandom(5 * 1024 * 1024), id="5MB-random"),
        ],
    )
    async def test_payload_bytes_round_trip_through_the_store(self, store: Store, payload: bytes) -> None:
        """A message payload comes back byte-identical from a reopened store (base64 transcoding + compression)."""
        ledger = store.open()
        committer = GroupCommit(ledger)
        committer.start()
        message = make_message("payload", ["LNSP1"], payload=payload)
        await committer.save(message)
        await committer.stop()
        ledger.close()

        reopened = store.open()
        try:
            found = reopened.find(Message, message.id)
            assert found is not None
            assert type(found.payload) is bytes
            assert found.payload == payload
            decoded = reopened.decode(reopened.notifications(0, 1)[0])
            assert decoded.payload == payload
        finally:
            reopened.close()

    def test_find_answers_none_for_unknown_and_type_error_for_another_kind(self, ledger: Ledger) -> None:
        """find() gives None for an id never created and refuses to return an aggregate of another class."""
        participant = Participant(participant_id="MC1", name="Metering", roles=["MC"])
        ledger.save(participant)
        assert ledger.find(Message, Message.create_id("never")) is None
        with pytest.raises(TypeError):
            ledger.find(Message, participant.id)

    async def test_group_commit_tells_its_listeners_after_each_commit_that_stored_events(
        self, committer: GroupCommit, ledger: Ledger
    ) -> None:
        """A listener hears of each stored batch once the events can be read, and not of a save that stored nothing."""
        seen: list[int] = []
        committer.on_commit(lambda: seen.append(ledger.last_position()))
        await committer.save(make_message("first", ["LNSP1"]))
        await asyncio.sleep(0)  # the listener is called in the loop, after the commit's callers are answered
        assert seen == [1]
        with pytest.raises(ConcurrencyError):
            await committer.save(make_message("first", ["LNSP1"]))
        await committer.save(make_message("second", ["LNSP1"]))
        await asyncio.sleep(0)
        # PostgreSQL's sequence may skip the positions of the refused insert: the second batch comes later, once.
        assert len(seen) == 2 and seen[1] > seen[0] and seen[1] == ledger.last_position()


class TestLedgerOnSQLite(LedgerContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Store:
        return Store(sqlite_persistence(tmp_path / "events.sqlite"))


class TestLedgerOnPostgres(LedgerContract):
    @pytest.fixture
    def store(self, postgres_url: str) -> Store:
        return Store(postgres_persistence(postgres_url))

    def test_a_second_open_of_the_same_database_changes_nothing(self, store: Store) -> None:
        """Creating the schema is idempotent: a ledger opened again on the database keeps every event."""
        first = store.open()
        first.save(Participant(participant_id="MC1", name="Metering", roles=["MC"]))
        first.close()
        again = store.open()
        try:
            assert again.last_position() == 1
            assert again.find(Participant, Participant.create_id("MC1")) is not None
        finally:
            again.close()

    def test_processes_starting_together_create_the_tables_once(self, postgres_url: str) -> None:
        """Four first starts at once on an empty database all succeed, and the store they made works."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda _: create_postgres_tables(postgres_url), range(4)))
        ledger = Ledger.open(postgres_persistence(postgres_url))
        try:
            ledger.save(Participant(participant_id="MC1", name="Metering", roles=["MC"]))
            assert ledger.last_position() == 1
        finally:
            ledger.close()
