"""The delivery gate: messages wait at the high watermark instead of being refused, and enter the queue again
below the low one, in priority then submission order; a manual stop holds them too."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import pytest

from exchange.bootstrap import Services
from exchange.domain.messages import Delivery, Message
from exchange.domain.topics import topic_of
from exchange.messaging.routing import routes_of
from tests.unit.services.conftest import Market, Member

QUEUED = topic_of(Delivery, "Queued")


async def status(services: Services, recipient: Member) -> str:
    state, _ = await services.gate.state(recipient.participant_id, "pqd")
    return state.status


async def queued_in_order(services: Services) -> list[str]:
    """Every message that entered a queue, in the order the gate queued them."""
    notifications = await asyncio.to_thread(services.ledger.notifications, 0, 10_000, (QUEUED,))
    return [services.ledger.decode(n).message_context_id for n in notifications]


async def sender_and_receiver(market: Market, watermarks: tuple[int, int, int]) -> tuple[Member, Member]:
    mc = await market.participant("MC", ["MC"])
    lnsp = await market.participant("LNSP", ["LNSP"], enrol=False)
    await market.services.flow.set_watermarks(lnsp.participant_id, "pqd", *watermarks)
    return mc, lnsp


async def test_a_queue_at_its_high_watermark_holds_new_messages(market: Market, services: Services) -> None:
    """Watermarks 1/2/3: three messages make the queue Stopped; the fourth waits instead of entering."""
    mc, lnsp = await sender_and_receiver(market, (1, 2, 3))
    first = [await market.send(mc, lnsp) for _ in range(3)]
    assert await status(services, lnsp) == "Stopped"

    held = await market.send(mc, lnsp)

    assert sorted(await market.queued(lnsp)) == sorted(first)
    assert held not in await market.queued(lnsp)
    assert await market.pending(lnsp) == 1


async def test_held_messages_enter_below_the_low_watermark_in_priority_then_submission_order(
    market: Market, services: Services
) -> None:
    """Watermarks 2/3/4: at 2 (the low watermark) nothing moves; at 1 High, Medium and the first Low enter
    until the queue is full again, and the second Low keeps waiting."""
    mc, lnsp = await sender_and_receiver(market, (2, 3, 4))
    first = [await market.send(mc, lnsp) for _ in range(4)]
    held = [await market.send(mc, lnsp, priority) for priority in ("Low", "Medium", "High", "Low")]
    low_1, medium, high, low_2 = held
    assert await market.pending(lnsp) == 4

    for context_id in first[:2]:
        await market.delete(lnsp, context_id)
    assert (await status(services, lnsp), await market.pending(lnsp)) == ("Stopped", 4)

    await market.delete(lnsp, first[2])

    assert (await queued_in_order(services))[4:] == [high, medium, low_1]
    assert (await status(services, lnsp), await market.pending(lnsp)) == ("Stopped", 1)
    assert low_2 not in await market.queued(lnsp)


async def test_a_route_delivered_twice_is_queued_once(market: Market, services: Services) -> None:
    """A replayed route (the relay publishes again after a crash) changes nothing the second time."""
    mc, lnsp = await sender_and_receiver(market, (8000, 9000, 10000))
    context_id = await market.send(mc, lnsp)
    market._delivered_up_to = 0

    await market.deliver()

    assert await queued_in_order(services) == [context_id]
    assert await market.queued(lnsp) == [context_id]


async def test_a_manual_stop_holds_messages_with_an_empty_queue_and_start_releases_them_in_order(
    market: Market, services: Services
) -> None:
    """Stopped by hand: messages wait although the queue is empty; Started, they enter High, Medium, Low."""
    mc, lnsp = await sender_and_receiver(market, (8000, 9000, 10000))
    await services.flow.switch(lnsp.participant_id, "pqd", "Stopped")
    low, high, medium = [await market.send(mc, lnsp, priority) for priority in ("Low", "High", "Medium")]
    assert (await market.queued(lnsp), await market.pending(lnsp)) == ([], 3)

    await services.flow.switch(lnsp.participant_id, "pqd", "Started")

    assert await queued_in_order(services) == [high, medium, low]
    assert await market.pending(lnsp) == 0


async def test_messages_for_another_recipient_pass_a_stopped_queue(market: Market, services: Services) -> None:
    """Flow control is per recipient: one participant's stop holds nothing of another's."""
    mc, stopped = await sender_and_receiver(market, (8000, 9000, 10000))
    other = await market.participant("LNSP", ["LNSP"], enrol=False)
    await services.flow.switch(stopped.participant_id, "pqd", "Stopped")

    context_id = await market.send(mc, other)

    assert await market.queued(other) == [context_id]


async def test_a_route_to_someone_the_message_does_not_name_is_dropped(market: Market, services: Services) -> None:
    """A forged route (NATS is no source of truth) naming a third party gets it nothing; the real one still works."""
    mc, lnsp = await sender_and_receiver(market, (8000, 9000, 10000))
    outsider = await market.participant("LNSP", ["LNSP"], enrol=False)
    context_id = await market.send(mc, lnsp)
    submitted = await asyncio.to_thread(services.ledger.notifications, 0, 10_000, (topic_of(Message, "Submitted"),))
    genuine = routes_of(submitted[-1].id, services.ledger.decode(submitted[-1]))[0]

    await services.gate.arrive([replace(genuine, recipient=outsider.participant_id)])

    assert await market.queued(outsider) == []
    assert await market.pending(outsider) == 0
    assert await market.queued(lnsp) == [context_id]


async def test_a_route_that_changes_what_was_recorded_or_names_no_message_is_dropped(
    market: Market, services: Services
) -> None:
    """A route raising the recorded priority, or naming a message never submitted, is not queued."""
    mc, lnsp = await sender_and_receiver(market, (8000, 9000, 10000))
    receipt = await market.submit(mc, market.body(mc, [lnsp], priority="Low"), priority="Low")
    submitted = await asyncio.to_thread(services.ledger.notifications, 0, 10_000, (topic_of(Message, "Submitted"),))
    genuine = routes_of(submitted[-1].id, services.ledger.decode(submitted[-1]))[0]
    assert genuine.message_context_id == receipt.message_context_id

    await services.gate.arrive(
        [
            replace(genuine, priority="High"),
            replace(genuine, message_context_id="never-submitted"),
        ]
    )

    assert await market.queued(lnsp) == []
    assert await market.pending(lnsp) == 0
    await services.gate.arrive([genuine])
    assert await market.queued(lnsp) == [receipt.message_context_id]


async def test_arrivals_count_what_the_gate_queued_before_the_queue_view_shows_it(
    market: Market, services: Services
) -> None:
    """Watermarks 1/2/3, no reads in between: the fourth arrival is held although the view has not seen the three."""
    mc, lnsp = await sender_and_receiver(market, (1, 2, 3))
    await market.caught_up()
    sent = [await market.send(mc, lnsp) for _ in range(4)]
    # Nothing has caught the queue view up since: the gate counted from what it committed itself.
    assert services.queue.position < await asyncio.to_thread(services.ledger.last_position)

    assert await queued_in_order(services) == sent[:3]
    assert await market.pending(lnsp) == 1


async def test_arrivals_after_a_release_count_the_released_messages_before_the_view_shows_them(
    market: Market, services: Services
) -> None:
    """Watermarks 1/2/3: two held by a manual stop enter when started; the next arrival enters as the third."""
    mc, lnsp = await sender_and_receiver(market, (1, 2, 3))
    await services.flow.switch(lnsp.participant_id, "pqd", "Stopped")
    held = [await market.send(mc, lnsp) for _ in range(2)]
    # The gate itself: the use case reads the state back, which would catch the view up.
    await services.gate.switch(lnsp.participant_id, "pqd", stopped=False)

    late = await market.send(mc, lnsp)
    assert services.queue.position < await asyncio.to_thread(services.ledger.last_position)

    assert await queued_in_order(services) == [*held, late]
    assert (await market.pending(lnsp), await status(services, lnsp)) == (0, "Stopped")


async def test_a_later_batch_whose_checks_finish_first_still_queues_after_an_earlier_one(
    market: Market, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deliverer hands over a second batch while the first is decided: the first's messages queue first even when
    its checks against the event store take longer."""
    mc, lnsp = await sender_and_receiver(market, (100, 200, 300))
    first = await market.submit(mc, market.body(mc, [lnsp]))
    second = await market.submit(mc, market.body(mc, [lnsp]))
    ledger = services.ledger
    submitted = await asyncio.to_thread(ledger.notifications, 0, 10_000, (topic_of(Message, "Submitted"),))
    routes = {ledger.decode(n).message_context_id: routes_of(n.id, ledger.decode(n)) for n in submitted}
    check = services.gate._not_yet_handled
    slow_for = first.message_context_id

    def slower_for_the_first(recorded: Any) -> Any:
        if any(route.message_context_id == slow_for for route in recorded):
            time.sleep(0.15)  # in the gate's thread, as a slow read of the event store would be
        return check(recorded)

    monkeypatch.setattr(services.gate, "_not_yet_handled", slower_for_the_first)
    earlier = asyncio.create_task(services.gate.arrive(routes[first.message_context_id]))
    await asyncio.sleep(0.05)  # the earlier batch is handed over first, as the deliverer does
    await services.gate.arrive(routes[second.message_context_id])
    await earlier
    assert await queued_in_order(services) == [first.message_context_id, second.message_context_id]
