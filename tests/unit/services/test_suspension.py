"""Suspending a participant: its calls are refused, nothing new reaches it, what it has queued stays."""

from __future__ import annotations

import pytest

from exchange.kernel.errors import InvalidError, NotFoundError, SuspendedError
from tests.unit.services.conftest import Market


async def token_of(market: Market, participant_id: str) -> str:
    issued = await market.services.admin.add_client(participant_id, ["PQD_BPQD"])
    return (await market.services.admin.token(issued.client_id, issued.client_secret, None)).access_token


async def test_a_suspended_participants_tokens_are_refused_until_it_is_active_again(market: Market) -> None:
    lnsp = await market.participant("LNSP", ["LNSP"], enrol=False)
    token = await token_of(market, lnsp.participant_id)

    await market.services.admin.set_status(lnsp.participant_id, "Suspended", "unpaid fees")

    with pytest.raises(SuspendedError, match="unpaid fees"):
        market.services.admission.verify(token)
    await market.services.admin.set_status(lnsp.participant_id, "Active", "paid")
    assert market.services.admission.verify(token).participant_id == lnsp.participant_id


async def test_messages_to_a_suspended_participant_are_invalid_naming_the_recipient(market: Market) -> None:
    mc = await market.participant("MC", ["MC"])
    lnsp = await market.participant("LNSP", ["LNSP"])
    other = await market.participant("LNSP", ["LNSP"])
    await market.services.admin.set_status(lnsp.participant_id, "Suspended", "")

    with pytest.raises(InvalidError) as refused:
        await market.submit(mc, market.body(mc, [other, lnsp]))

    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("data.header.receivingParticipantId[1]", f"{lnsp.participant_id} is suspended")
    ]
    assert await market.messages() == 0


async def test_messages_queued_before_the_suspension_stay_in_the_queue(market: Market) -> None:
    mc = await market.participant("MC", ["MC"])
    lnsp = await market.participant("LNSP", ["LNSP"])
    queued = await market.send(mc, lnsp)

    await market.services.admin.set_status(lnsp.participant_id, "Suspended", "audit")

    assert await market.queued(lnsp) == [queued]


async def test_participant_status_shows_a_suspended_participant(market: Market) -> None:
    lnsp = await market.participant("LNSP", ["LNSP"], enrol=False)
    await market.services.admin.set_status(lnsp.participant_id, "Suspended", "audit")

    rows = await market.services.flow.participant_status(lnsp.participant_id)

    assert rows and {row.participant_status for row in rows} == {"Suspended"}


async def test_a_status_other_than_active_or_suspended_is_invalid_naming_the_field(market: Market) -> None:
    lnsp = await market.participant("LNSP", ["LNSP"], enrol=False)
    with pytest.raises(InvalidError) as refused:
        await market.services.admin.set_status(lnsp.participant_id, "Banned", "")
    assert [e.field for e in refused.value.errors] == ["status"]


async def test_suspending_an_unknown_participant_is_not_found(market: Market) -> None:
    with pytest.raises(NotFoundError):
        await market.services.admin.set_status("NOBODY", "Suspended", "")


async def test_the_market_operator_cannot_be_suspended(market: Market) -> None:
    """Only the operator's tokens can make a participant active again, so it never locks itself out."""
    operator = await market.participant("OP", ["OPERATOR"], enrol=False)
    with pytest.raises(InvalidError) as refused:
        await market.services.admin.set_status(operator.participant_id, "Suspended", "")
    assert [e.field for e in refused.value.errors] == ["status"]
