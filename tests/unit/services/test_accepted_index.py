"""The idempotency index: a resubmission is recognised from the index fed by the log, never by reading the
message aggregate back from the event store."""

from __future__ import annotations

import asyncio

import pytest

from exchange.domain.messages import Message
from exchange.eventstore.accepted import AcceptedMessages
from exchange.kernel.errors import ConflictError
from exchange.services.submit import Submissions
from tests.unit.services.conftest import Market, aggregates_read


async def test_a_new_submission_and_a_resubmission_read_no_message_aggregate(
    market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neither a first submission nor its resubmission (200 again, then 409) reads a Message from the event store."""
    mc, lnsp = await market.mc_and_lnsp()
    body = market.body(mc, [lnsp])
    context_id = f"pqd~bpqd~m~{mc.participant_id}~indexed"
    reads = aggregates_read(market, monkeypatch)

    first = await market.submit(mc, body, context_id=context_id)
    assert await market.submit(mc, body, context_id=context_id) == first
    with pytest.raises(ConflictError):
        await market.submit(mc, market.body(mc, [lnsp]), context_id=context_id)

    assert [aggregate for aggregate in reads if isinstance(aggregate, Message)] == []


async def test_an_index_built_from_the_log_knows_what_was_accepted_before_it(market: Market) -> None:
    """As after a restart: a new index that caught up with the log finds the message and its original event."""
    mc, lnsp = await market.mc_and_lnsp()
    receipt = await market.submit(mc, market.body(mc, [lnsp]))
    index = AcceptedMessages(market.services.ledger)
    assert index.submitted(Message.create_id(receipt.message_context_id)) is None

    await asyncio.to_thread(index.catch_up)

    submitted = index.submitted(Message.create_id(receipt.message_context_id))
    assert submitted is not None
    assert (submitted.payload_sha256, submitted.receipt) == (receipt.payload_sha256, receipt.receipt)
    assert len(index) == 1


def submissions_of_another_process(market: Market) -> Submissions:
    """The submit use case on the same event store with an index of its own that has not read the log."""
    return market.submissions(accepted=AcceptedMessages(market.services.ledger))


async def test_a_message_another_process_accepted_is_caught_at_the_commit(market: Market) -> None:
    """Unknown to the index, an accepted messageContextId is refused by the store: same payload → the original
    receipt, another payload → a conflict, and the event store still holds one message."""
    mc, lnsp = await market.mc_and_lnsp()
    body = market.body(mc, [lnsp])
    context_id = f"pqd~bpqd~m~{mc.participant_id}~elsewhere"
    first = await market.submit(mc, body, context_id=context_id)
    other = submissions_of_another_process(market)

    same = await asyncio.to_thread(other.prepare, mc.principal, market.request(mc, body, context_id=context_id))
    assert isinstance(same, Message)
    assert await other.record(same) == first
    other = submissions_of_another_process(market)
    changed = await asyncio.to_thread(
        other.prepare, mc.principal, market.request(mc, market.body(mc, [lnsp]), context_id=context_id)
    )
    assert isinstance(changed, Message)
    with pytest.raises(ConflictError):
        await other.record(changed)
    assert await market.messages() == 1
