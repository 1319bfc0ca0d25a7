"""The notifier publishes a batch's frames before it takes the views' write lock, and commits their numbers after."""

from __future__ import annotations

import asyncio
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
from tests.integration.test_routing import _register_participants, _submit, running_exchange


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
