"""A messageContextId names one message: the same payload again gets the original receipt, another payload a
conflict, whether the two meet before or at the commit."""

from __future__ import annotations

import asyncio

import pytest

from exchange.domain.messages import Message
from exchange.kernel.errors import ConflictError, SignatureRefusedError
from tests.unit.services.conftest import Market, Member, SettableClock


async def test_the_same_context_id_and_payload_again_gets_the_original_receipt(
    market: Market, clock: SettableClock
) -> None:
    """A resubmission a minute later answers with the first receipt and its time; one message is recorded."""
    mc, lnsp = await market.mc_and_lnsp()
    body = market.body(mc, [lnsp])
    first = await market.submit(mc, body, context_id=f"pqd~bpqd~m~{mc.participant_id}~again")
    clock.advance(60)

    again = await market.submit(mc, body, context_id=f"pqd~bpqd~m~{mc.participant_id}~again")

    assert again == first
    assert await market.messages() == 1


async def test_the_same_context_id_with_another_payload_is_a_conflict_and_the_first_stays(market: Market) -> None:
    """Another payload under a recorded messageContextId is a ConflictError; the first message is unchanged."""
    mc, lnsp = await market.mc_and_lnsp()
    context_id = f"pqd~bpqd~m~{mc.participant_id}~twice"
    first_body = market.body(mc, [lnsp])
    first = await market.submit(mc, first_body, context_id=context_id)

    with pytest.raises(ConflictError):
        await market.submit(mc, market.body(mc, [lnsp]), context_id=context_id)

    stored = market.services.ledger.find(Message, Message.create_id(context_id))
    assert stored is not None and stored.payload == first_body
    assert stored.payload_sha256 == first.payload_sha256


async def test_a_resubmission_must_still_be_signed_by_the_sender(market: Market) -> None:
    """The original receipt goes only to a proven sender: a resubmission with a bad signature is refused."""
    mc, lnsp = await market.mc_and_lnsp()
    body = market.body(mc, [lnsp])
    context_id = f"pqd~bpqd~m~{mc.participant_id}~signed"
    await market.submit(mc, body, context_id=context_id)

    with pytest.raises(SignatureRefusedError):
        await market.submit(mc, body, context_id=context_id, signature=mc.sign(body + b" "))


async def prepare_both(market: Market, sender: Member, first: bytes, second: bytes, context_id: str) -> list[Message]:
    """Two submissions under one messageContextId, both checked before either is recorded (as concurrent requests)."""
    submissions = market.services.submissions
    prepared = []
    for body in (first, second):
        request = market.request(sender, body, context_id=context_id)
        message = await asyncio.to_thread(submissions.prepare, sender.principal, request)
        assert isinstance(message, Message)
        prepared.append(message)
    return prepared


async def test_a_concurrent_copy_with_another_payload_is_a_conflict_at_the_commit(market: Market) -> None:
    """When the store refuses the second of two concurrent records (ConcurrencyError), another payload is a conflict."""
    mc, lnsp = await market.mc_and_lnsp()
    context_id = f"pqd~bpqd~m~{mc.participant_id}~race"
    first, second = await prepare_both(market, mc, market.body(mc, [lnsp]), market.body(mc, [lnsp]), context_id)
    await market.services.submissions.record(first)

    with pytest.raises(ConflictError):
        await market.services.submissions.record(second)

    assert await market.messages() == 1


async def test_a_concurrent_copy_with_the_same_payload_gets_the_winners_receipt(market: Market) -> None:
    """The copy that loses the race at the commit answers with the receipt of the one that won."""
    mc, lnsp = await market.mc_and_lnsp()
    body = market.body(mc, [lnsp])
    first, second = await prepare_both(market, mc, body, body, f"pqd~bpqd~m~{mc.participant_id}~same")
    won = await market.services.submissions.record(first)

    assert await market.services.submissions.record(second) == won
    assert await market.messages() == 1
