"""The notifier publishes a batch's frames before it takes the views' write lock, and commits their numbers after."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import msgspec
import nats.js.errors
import pytest

from exchange.bootstrap import Exchange
from exchange.domain.messages import Delivery
from exchange.domain.outages import Outage
from exchange.domain.topics import topic_of
from exchange.messaging.notifications import STREAM, Notifier, subject_of
from exchange.messaging.routing import routes_of
from exchange.readmodels.projector import Projector
from exchange.readmodels.views import open_views
from tests.integration.test_routing import _eventually, _register_participants, _submit, running_exchange


async def frames_for(exchange: Exchange, participant: str) -> list[dict[str, Any]]:
    """Every frame the events stream holds for a participant, oldest first."""
    state = (await exchange.js.stream_info(STREAM)).state
    frames = []
    for sequence in range(state.first_seq, state.last_seq + 1):
        message = await exchange.js.get_msg(STREAM, sequence)
        if message.subject == subject_of(participant):
            frames.append(msgspec.json.decode(message.data))
    return frames


def queued_in_log(exchange: Exchange, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        """the log holds that many `Queued` events"""
        queued = await asyncio.to_thread(exchange.ledger.notifications, 0, 100, (topic_of(Delivery, "Queued"),))
        return len(queued) == count

    return check


async def queued_for_lnsp1(exchange: Exchange) -> list[tuple[int, Any]]:
    """Submit ctx-1 to LNSP1 and queue it through the gate, with the exchange's own follower (and its notifier)
    stopped so that only the notifier under test publishes; the decoded `Queued` events of the log."""
    await _register_participants(exchange)
    await exchange.follower.stop()
    position = await _submit(exchange, "ctx-1", ["LNSP1"])
    [submitted] = await asyncio.to_thread(exchange.ledger.notifications, position - 1, 1)
    await exchange.gate.arrive(routes_of(position, exchange.ledger.decode(submitted)))
    queued = await asyncio.to_thread(exchange.ledger.notifications, 0, 100, (topic_of(Delivery, "Queued"),))
    return [(n.id, exchange.ledger.decode(n)) for n in queued]


async def test_act_publishes_the_frames_and_handle_only_commits_the_numbers_it_published(tmp_path: Path) -> None:
    """`act` (outside the write lock) leaves the frame in JetStream; `handle` refuses a batch `act` did not publish."""
    async with running_exchange(tmp_path / "data") as exchange:
        events = await queued_for_lnsp1(exchange)
        notifier = Notifier(exchange.js, exchange.queue, exchange.lists["participants"], exchange.views)
        with pytest.raises(nats.js.errors.NotFoundError):
            await exchange.js.get_last_msg(STREAM, subject_of("LNSP1"))

        await notifier.act(events)

        frame = msgspec.json.decode((await exchange.js.get_last_msg(STREAM, subject_of("LNSP1"))).data)
        assert (frame["eventType"], frame["messageContextId"], frame["sequence"]) == ("messageAvailable", "ctx-1", 1)

        await notifier.handle(exchange.views, events)  # records the sequence `act` published under
        async with exchange.views.execute("SELECT sequence FROM event_sequences WHERE participant_id = 'LNSP1'") as c:
            assert tuple(await c.fetchone() or ()) == (1,)
        with pytest.raises(RuntimeError):
            await notifier.handle(exchange.views, events)  # nothing published for it since


class ParticipantsView:
    """Stands in for the participants view's projector: records the positions the notifier waits for."""

    def __init__(self) -> None:
        self.waited_for: list[int] = []

    async def wait_for(self, position: int, within: float = 10.0) -> None:
        self.waited_for.append(position)


async def test_frames_of_deliveries_do_not_wait_for_the_participants_view_but_an_outage_does(tmp_path: Path) -> None:
    """Only an outage needs every registration before it: other frames never wait for the slower lists."""
    async with running_exchange(tmp_path / "data") as exchange:
        events = await queued_for_lnsp1(exchange)
        participants = ParticipantsView()
        notifier = Notifier(exchange.js, exchange.queue, cast(Projector, participants), exchange.views)

        await notifier.act(events)
        assert participants.waited_for == []

        await exchange.admin.announce_outage("planned maintenance")
        announced = await asyncio.to_thread(exchange.ledger.notifications, 0, 100, (topic_of(Outage, "Announced"),))
        await notifier.act([(n.id, exchange.ledger.decode(n)) for n in announced])
        assert participants.waited_for == [announced[-1].id]


async def test_frames_are_numbered_on_from_the_last_commit_while_a_request_reads_the_views(tmp_path: Path) -> None:
    """A read left open on the request side's connection pins what that connection sees: the exchange's notifier
    reads the sequences it committed through its own, so the next frame is not numbered as the last again (and
    dropped by JetStream as its duplicate)."""
    async with running_exchange(tmp_path / "data") as exchange:
        await _register_participants(exchange)
        await exchange.lists["participants"].wait_for_latest()
        notifications = exchange.projectors["notifications"]
        # A request part-way through the rows it reads.
        reading = await exchange.views.execute("SELECT participant_id FROM participants")
        try:
            assert await reading.fetchone() is not None
            for count, context_id in enumerate(["ctx-1", "ctx-2"], start=1):
                await _submit(exchange, context_id, ["LNSP1"])
                await _eventually(queued_in_log(exchange, count))
                await notifications.wait_for_latest()  # its frame is published and its sequence committed
        finally:
            await reading.close()

        frames = await frames_for(exchange, "LNSP1")
        assert [(f["messageContextId"], f["sequence"]) for f in frames] == [("ctx-1", 1), ("ctx-2", 2)]


async def test_sequences_a_failed_commit_left_uncommitted_do_not_number_the_next_frames(tmp_path: Path) -> None:
    """A transaction left open on the notifier's connection is undone before it numbers: frames go on from the
    sequences committed, with no gap."""
    async with running_exchange(tmp_path / "data") as exchange:
        events = await queued_for_lnsp1(exchange)
        await exchange.queue.wait_for(events[-1][0])  # before the transaction below holds the file's write lock
        own = await open_views(exchange.settings.data_dir / "views.sqlite")
        try:
            notifier = Notifier(exchange.js, exchange.queue, exchange.lists["participants"], own)
            await own.execute("BEGIN IMMEDIATE")
            await own.execute("INSERT INTO event_sequences VALUES ('LNSP1', 5)")  # as if its COMMIT had failed

            await notifier.act(events)
        finally:
            await own.close()

        assert [frame["sequence"] for frame in await frames_for(exchange, "LNSP1")] == [1]
