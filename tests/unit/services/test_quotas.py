"""Daily quotas per sender and priority, counted on the market day, given back when a submission fails."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta

import pytest

from exchange.domain.markettime import MARKET_TIME, market_day
from exchange.domain.messages import Message
from exchange.kernel.errors import InvalidError, LimitExceededError, SignatureRefusedError
from tests.unit.services.conftest import BuildServices, Market, Member, SettableClock, use_case_fixture


@use_case_fixture
async def market(make_services: BuildServices) -> Market:
    """An exchange allowing each sender two High, two Medium and one Low message a market day."""
    return Market(await make_services(daily_quota=(2, 2, 1)))


async def send(market: Market, sender: Member, recipient: Member, priority: str) -> None:
    await market.submit(sender, market.body(sender, [recipient], priority=priority), priority=priority)


def seconds_to_market_midnight(now: datetime) -> float:
    midnight = datetime.combine(market_day(now) + timedelta(days=1), time(), MARKET_TIME)
    return float(max(1, int((midnight - now).total_seconds() + 0.999)))


async def test_the_quota_is_per_priority_and_refused_until_the_next_market_midnight(
    market: Market, clock: SettableClock
) -> None:
    """The third High of the day is a LimitExceededError retrying at market midnight; Medium is still open."""
    mc, lnsp = await market.mc_and_lnsp()
    await send(market, mc, lnsp, "High")
    await send(market, mc, lnsp, "High")

    with pytest.raises(LimitExceededError) as refused:
        await send(market, mc, lnsp, "High")

    assert refused.value.retry_after == seconds_to_market_midnight(clock.now())
    await send(market, mc, lnsp, "Medium")
    assert await market.messages() == 3


async def test_the_quota_is_per_sender(market: Market) -> None:
    """One sender's spent Low quota leaves another sender's untouched."""
    mc, lnsp = await market.mc_and_lnsp()
    other = await market.participant("MDP", ["MDP"])
    await send(market, mc, lnsp, "Low")

    await send(market, other, lnsp, "Low")

    with pytest.raises(LimitExceededError):
        await send(market, mc, lnsp, "Low")


async def test_a_rejected_submission_does_not_consume_quota(market: Market) -> None:
    """A broken rule and a signature over other bytes leave the one Low message of the day available."""
    mc, lnsp = await market.mc_and_lnsp()
    with pytest.raises(InvalidError):
        await market.submit(mc, market.body(mc, [lnsp], priority="Low", interval_length=7), priority="Low")
    body = market.body(mc, [lnsp], priority="Low")
    with pytest.raises(SignatureRefusedError):
        await market.submit(mc, body, priority="Low", signature=mc.sign(body + b" "))

    await send(market, mc, lnsp, "Low")

    assert await market.messages() == 1


async def test_resubmitting_an_accepted_message_after_the_quota_is_spent_returns_its_receipt(market: Market) -> None:
    """The same messageContextId and payload again is the original receipt, not a new message and not refused."""
    mc, lnsp = await market.mc_and_lnsp()
    body = market.body(mc, [lnsp], priority="Low")
    context_id = f"pqd~bpqd~l~{mc.participant_id}~once"
    first = await market.submit(mc, body, priority="Low", context_id=context_id)

    assert await market.submit(mc, body, priority="Low", context_id=context_id) == first


async def test_a_new_market_day_restores_the_quota(market: Market, clock: SettableClock) -> None:
    """Once the market day turns, the spent Low quota is available again."""
    mc, lnsp = await market.mc_and_lnsp()
    await send(market, mc, lnsp, "Low")
    with pytest.raises(LimitExceededError) as refused:
        await send(market, mc, lnsp, "Low")

    clock.advance(refused.value.retry_after)

    await send(market, mc, lnsp, "Low")
    assert await market.messages() == 2


async def test_a_copy_that_loses_the_race_at_the_commit_gives_its_quota_back(market: Market) -> None:
    """Two concurrent copies of one message count once: the second Medium of the day is still available."""
    mc, lnsp = await market.mc_and_lnsp()
    body = market.body(mc, [lnsp], priority="Medium")
    request = market.request(mc, body, context_id=f"pqd~bpqd~m~{mc.participant_id}~copy")
    submissions = market.services.submissions
    first, second = [await asyncio.to_thread(submissions.prepare, mc.principal, request) for _ in range(2)]
    assert isinstance(first, Message) and isinstance(second, Message)
    await submissions.record(first)
    await submissions.record(second)

    await send(market, mc, lnsp, "Medium")
    with pytest.raises(LimitExceededError):
        await send(market, mc, lnsp, "Medium")
