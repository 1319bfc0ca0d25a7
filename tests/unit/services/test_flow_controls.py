"""Flow-control use cases: two manual switches a market day, and watermarks the operator sets in order."""

from __future__ import annotations

import pytest

from exchange.bootstrap import Services
from exchange.domain.markettime import seconds_until_next_market_day
from exchange.kernel.errors import InvalidError, LimitExceededError, NotFoundError
from tests.unit.services.conftest import Market, Member, SettableClock, use_case_fixture


@use_case_fixture
async def lnsp(market: Market) -> Member:
    return await market.participant("LNSP", ["LNSP"], enrol=False)


async def manual_stop(services: Services, recipient: Member) -> bool:
    state, _ = await services.gate.state(recipient.participant_id, "pqd")
    return state.manual_stop


async def test_a_third_manual_switch_in_a_market_day_is_refused_until_midnight(
    market: Market, lnsp: Member, clock: SettableClock
) -> None:
    """Stop and start pass; the third switch is a LimitExceededError retrying at market midnight, changing nothing."""
    flow = market.services.flow
    await flow.switch(lnsp.participant_id, "pqd", "Stopped")
    await flow.switch(lnsp.participant_id, "pqd", "Started")

    with pytest.raises(LimitExceededError) as refused:
        await flow.switch(lnsp.participant_id, "pqd", "Stopped")

    assert refused.value.retry_after == int(seconds_until_next_market_day(clock.now()))
    assert await manual_stop(market.services, lnsp) is False
    detail = await flow.detail(lnsp.participant_id, "pqd")
    assert (detail.manual_switches_used_today, detail.manual_switches_per_day) == (2, 2)


async def test_asking_for_the_current_state_costs_no_switch(market: Market, lnsp: Member) -> None:
    """Started while started changes nothing and leaves both switches of the day."""
    flow = market.services.flow
    await flow.switch(lnsp.participant_id, "pqd", "Started")

    await flow.switch(lnsp.participant_id, "pqd", "Stopped")
    await flow.switch(lnsp.participant_id, "pqd", "Started")
    assert await manual_stop(market.services, lnsp) is False


async def test_a_new_market_day_gives_two_switches_again(market: Market, lnsp: Member, clock: SettableClock) -> None:
    """Once the market day turns, the switch refused yesterday is allowed."""
    flow = market.services.flow
    await flow.switch(lnsp.participant_id, "pqd", "Stopped")
    await flow.switch(lnsp.participant_id, "pqd", "Started")
    with pytest.raises(LimitExceededError) as refused:
        await flow.switch(lnsp.participant_id, "pqd", "Stopped")

    clock.advance(refused.value.retry_after)

    await flow.switch(lnsp.participant_id, "pqd", "Stopped")
    assert await manual_stop(market.services, lnsp) is True


async def test_only_a_receiver_of_the_business_function_can_switch_it(market: Market) -> None:
    """An MC receives no BPQD, so it has no pqd queue to stop."""
    mc = await market.participant("MC", ["MC"], enrol=False)

    with pytest.raises(NotFoundError):
        await market.services.flow.switch(mc.participant_id, "pqd", "Stopped")


@pytest.mark.parametrize("watermarks", [(-1, 5, 8), (5, 5, 8), (3, 8, 8), (3, 9, 8), (9, 5, 8)])
async def test_watermarks_must_be_ordered_low_warn_high(
    market: Market, lnsp: Member, watermarks: tuple[int, int, int]
) -> None:
    """Unless 0 <= low < warn < high the watermarks are invalid, and the defaults stay."""
    with pytest.raises(InvalidError) as refused:
        await market.services.flow.set_watermarks(lnsp.participant_id, "pqd", *watermarks)

    assert refused.value.errors
    state, _ = await market.services.gate.state(lnsp.participant_id, "pqd")
    assert (state.watermarks.low, state.watermarks.warn, state.watermarks.high) == (8000, 9000, 10000)


async def test_watermarks_of_an_unknown_participant_or_function_are_not_found(market: Market, lnsp: Member) -> None:
    """The participant and the business function must both exist."""
    flow = market.services.flow
    with pytest.raises(NotFoundError):
        await flow.set_watermarks("NOSUCH9", "pqd", 1, 2, 3)
    with pytest.raises(NotFoundError):
        await flow.set_watermarks(lnsp.participant_id, "nosuch", 1, 2, 3)


@pytest.mark.parametrize("field", ["low", "warn", "high"])
async def test_a_watermark_beyond_ten_million_is_refused_naming_it_and_stores_nothing(
    market: Market, lnsp: Member, field: str
) -> None:
    """A watermark too large for the stores is a 422 naming the field; status still answers with the defaults."""
    watermarks = {"low": 1, "warn": 2, "high": 3, field: 99999999999999999999999}
    with pytest.raises(InvalidError) as refused:
        await market.services.flow.set_watermarks(lnsp.participant_id, "pqd", **watermarks)

    assert [error.field for error in refused.value.errors] == [field]
    assert [row.business_function_id for row in await market.services.flow.participant_status(None)] == ["pqd"]
    state, _ = await market.services.gate.state(lnsp.participant_id, "pqd")
    assert state.watermarks.high == 10000


async def test_watermarks_up_to_ten_million_are_accepted(market: Market, lnsp: Member) -> None:
    """The largest watermark allowed is stored and read back."""
    await market.services.flow.set_watermarks(lnsp.participant_id, "pqd", 9_999_998, 9_999_999, 10_000_000)

    state, _ = await market.services.gate.state(lnsp.participant_id, "pqd")
    assert state.watermarks.high == 10_000_000
