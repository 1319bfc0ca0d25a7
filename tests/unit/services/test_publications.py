"""Publications through the submit use case: `"receivingParticipantId": ["*"]` is resolved when the message is
accepted and recorded in its event, and what the function's acceptance records is committed with the message."""

from __future__ import annotations

import asyncio
import gc
from dataclasses import replace

from exchange.domain.messages import Message
from exchange.functions.ssm.domain import PublishedRoll
from exchange.functions.ssm.sample import region_body
from tests.unit.services.conftest import Market


async def test_star_is_resolved_on_acceptance_to_every_active_holder_of_a_receiving_role(market: Market) -> None:
    """Both generators and the TNSP, not the LNSP, not the suspended generator; the roll's rows are recorded too."""
    operator = await market.participant("OP", ["OPERATOR"])
    gen_a = await market.participant("GEN", ["GENERATOR"], enrol=False)
    gen_b = await market.participant("GEN", ["GENERATOR"], enrol=False)
    tnsp = await market.participant("TNSP", ["TNSP"], enrol=False)
    await market.participant("LNSP", ["LNSP"], enrol=False)
    away = await market.participant("GEN", ["GENERATOR"], enrol=False)
    await market.services.admin.set_status(away.participant_id, "Suspended", "not trading")

    body = region_body(operator.participant_id, ["*"], intervals=2)
    request = market.request(operator, body, context_id=f"ssm~region~m~{operator.participant_id}~roll1")
    request = replace(request, business_function_id="ssm", resource_id="region")
    submissions = market.services.submissions
    prepared = await asyncio.to_thread(submissions.prepare, operator.principal, request)
    assert isinstance(prepared, Message)
    await submissions.record(prepared)

    ledger = market.services.ledger
    message = await asyncio.to_thread(ledger.find, Message, Message.create_id(request.message_context_id))
    assert message is not None and message.payload == body  # the signed bytes, `*` and all
    assert sorted(message.recipients) == sorted(p.participant_id for p in (gen_a, gen_b, tnsp))
    roll = await asyncio.to_thread(ledger.find, PublishedRoll, PublishedRoll.create_id(request.message_context_id))
    assert roll is not None and roll.recipients == message.recipients and len(roll.rows) == 10


async def test_star_reaches_every_lnsp_with_basic_power_quality_data(market: Market) -> None:
    """`*` is the envelope's, not one function's: an MC's BPQD to `*` goes to every LNSP."""
    mc = await market.participant("MC", ["MC"])
    lnsps = [await market.participant("LNSP", ["LNSP"], enrol=False) for _ in range(2)]
    body = market.body(mc, [])
    body = body.replace(b'"receivingParticipantId":[]', b'"receivingParticipantId":["*"]')
    receipt = await market.submit(mc, body)
    message = await asyncio.to_thread(
        market.services.ledger.find, Message, Message.create_id(receipt.message_context_id)
    )
    assert message is not None and sorted(message.recipients) == sorted(p.participant_id for p in lnsps)


async def test_a_prepared_publication_given_up_before_it_is_recorded_leaves_nothing_behind(market: Market) -> None:
    """A client that goes away between `prepare` and `record` drops the message; the roll it carried goes with it."""
    operator = await market.participant("OP", ["OPERATOR"])
    await market.participant("GEN", ["GENERATOR"], enrol=False)
    submissions = market.services.submissions

    async def prepare(unique: str) -> Message:
        body = region_body(operator.participant_id, ["*"], intervals=2)
        request = market.request(operator, body, context_id=f"ssm~region~m~{operator.participant_id}~{unique}")
        prepared = await asyncio.to_thread(
            submissions.prepare, operator.principal, replace(request, business_function_id="ssm", resource_id="region")
        )
        assert isinstance(prepared, Message)
        return prepared

    given_up = await prepare("gone")
    kept = await prepare("kept")
    assert len(submissions._records) == 2  # what the use case holds between its two steps
    del given_up
    gc.collect()
    assert len(submissions._records) == 1
    await submissions.record(kept)
    assert submissions._records == {}
    roll = await asyncio.to_thread(
        market.services.ledger.find, PublishedRoll, PublishedRoll.create_id(kept.message_context_id)
    )
    assert roll is not None
