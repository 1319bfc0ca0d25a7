"""Retrieving and removing a queued message write their event without reading the delivery back, and stay correct
when another request or process changed the delivery in between."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from exchange.domain.messages import Delivery, Message
from exchange.kernel.errors import NotFoundError
from exchange.services.mailbox import Mailbox
from tests.unit.services.conftest import Market, Member, aggregates_read


def delivery(market: Market, context_id: str, recipient: Member) -> Delivery:
    found = market.services.ledger.find(Delivery, Delivery.create_id(context_id, recipient.participant_id))
    assert found is not None
    return found


async def test_get_and_delete_read_no_aggregate_from_the_event_store(
    market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GET reads the payload by its log position and DELETE reads nothing; the delivery ends retrieved and removed."""
    mc, lnsp = await market.mc_and_lnsp()
    body = market.body(mc, [lnsp])
    receipt = await market.submit(mc, body)
    await market.deliver()
    await market.caught_up()
    context_id = receipt.message_context_id
    reads = aggregates_read(market, monkeypatch)

    fetched = await market.services.mailbox.fetch(lnsp.participant_id, "pqd", "bpqd", context_id)
    await market.delete(lnsp, context_id)

    assert [aggregate for aggregate in reads if isinstance(aggregate, (Message, Delivery))] == []
    assert fetched.payload == body and fetched.sender_id == mc.participant_id
    monkeypatch.undo()
    stored = delivery(market, context_id, lnsp)
    assert (stored.retrieved_count, stored.in_queue, stored.version) == (1, False, 3)
    assert await market.queued(lnsp) == []


async def test_two_deletes_of_the_same_message_at_once_remove_it_once(market: Market) -> None:
    """Concurrent DELETEs both pass the queue view; the store lets one remove the message, the other is a 404."""
    mc, lnsp = await market.mc_and_lnsp()
    context_id = await market.send(mc, lnsp)
    await market.caught_up()

    outcomes = await asyncio.gather(
        market.delete(lnsp, context_id), market.delete(lnsp, context_id), return_exceptions=True
    )

    assert sorted(type(o).__name__ for o in outcomes) == ["NoneType", "NotFoundError"]
    assert delivery(market, context_id, lnsp).version == 2
    with pytest.raises(NotFoundError):
        await market.delete(lnsp, context_id)


async def test_steps_another_process_recorded_first_are_read_and_built_upon(market: Market) -> None:
    """Two mailboxes that know nothing of each other's steps: each step lands at the next version, none is lost."""
    mc, lnsp = await market.mc_and_lnsp()
    context_id = await market.send(mc, lnsp)
    await market.caught_up()
    here = market.services.mailbox
    elsewhere: Mailbox = replace(here)

    await here.fetch(lnsp.participant_id, "pqd", "bpqd", context_id)
    await elsewhere.fetch(lnsp.participant_id, "pqd", "bpqd", context_id)
    await here.delete(lnsp.participant_id, "pqd", "bpqd", context_id)

    stored = delivery(market, context_id, lnsp)
    assert (stored.retrieved_count, stored.in_queue, stored.version) == (2, False, 4)
    with pytest.raises(NotFoundError):
        await elsewhere.delete(lnsp.participant_id, "pqd", "bpqd", context_id)
