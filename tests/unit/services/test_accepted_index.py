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


async def accepted_context_ids(market: Market, count: int) -> list[str]:
    """The messageContextIds of `count` messages accepted through the submit use case."""
    mc, lnsp = await market.mc_and_lnsp()
    return [(await market.submit(mc, market.body(mc, [lnsp]))).message_context_id for _ in range(count)]


async def test_merged_messages_are_found_with_their_own_event_and_an_unknown_one_is_not(market: Market) -> None:
    """Merged into the sorted arrays, each message is found with its own Submitted event; another id finds none."""
    context_ids = await accepted_context_ids(market, 5)
    index = AcceptedMessages(market.services.ledger, recent_limit=2)
    await asyncio.to_thread(index.catch_up)
    index.merge()

    for context_id in context_ids:
        submitted = index.submitted(Message.create_id(context_id))
        assert submitted is not None and submitted.originator_id == Message.create_id(context_id)
    assert index.submitted(Message.create_id(f"{context_ids[0]}-never-sent")) is None
    assert len(index) == 5


async def test_ids_that_share_a_fingerprint_are_told_apart_by_their_stored_event(market: Market) -> None:
    """With 1-bit fingerprints every lookup meets other messages' entries: it reads them and answers only with the
    event of the id asked for, and an unknown id sharing a fingerprint is still unknown."""
    context_ids = await accepted_context_ids(market, 6)
    index = AcceptedMessages(market.services.ledger, recent_limit=1, fingerprint_bits=1)
    await asyncio.to_thread(index.catch_up)
    index.merge()

    for context_id in context_ids:
        message_id = Message.create_id(context_id)
        assert len(index.candidates(message_id)) >= 3  # six messages in two fingerprints: collisions for sure
        submitted = index.submitted(message_id)
        assert submitted is not None and submitted.originator_id == message_id
    unknown = Message.create_id(f"{context_ids[0]}-never-sent")
    assert index.candidates(unknown) != []
    assert index.submitted(unknown) is None


async def test_a_message_added_and_then_read_from_the_log_is_held_once(market: Market) -> None:
    """The submit path adds a message, a later catch-up reads the same one from the log: one entry after the merge."""
    (context_id,) = await accepted_context_ids(market, 1)
    index = AcceptedMessages(market.services.ledger)
    message_id = Message.create_id(context_id)
    position = market.services.ledger.last_position()
    index.add(message_id, position)
    index.merge()

    await asyncio.to_thread(index.catch_up)
    index.merge()

    assert len(index) == 1
    assert index.candidates(message_id) == [position]
