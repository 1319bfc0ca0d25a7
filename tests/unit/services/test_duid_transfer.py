"""A DUID passes to another generator from a date: recall plans follow the owner today, bids the owner on the
trading day, and days before the transfer keep their owner."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import msgspec
import pytest

from exchange.bootstrap import Services
from exchange.domain.markettime import MARKET_TIME, market_day
from exchange.functions.bids.sample import sample_bids
from exchange.functions.bids.service import EnergyBids
from exchange.functions.errors import RuleViolationError
from exchange.functions.recall.sample import sample_plan
from exchange.functions.recall.service import RecallPlans
from exchange.functions.services import Answer, Call
from exchange.kernel.errors import InvalidError, NotFoundError
from tests.unit.services.conftest import Market, Member, SettableClock, use_case_fixture

GENERATOR = frozenset({"GENERATOR"})
DUID = "SWAPGEN1"


async def submit_plan(services: Services, owner: Member, plan_id: str, start: str) -> dict[str, Any]:
    plans = RecallPlans(services.plugin_services)
    body = msgspec.json.encode(sample_plan(owner.participant_id, DUID, plan_id=plan_id, start=start))
    answer = await plans.submit_recall_plan(Call(owner.participant_id, GENERATOR, body))
    data: dict[str, Any] = answer.body["data"]
    return data


async def submit_bid(services: Services, bidder: Member, trading_date: str) -> Answer:
    body = msgspec.json.encode(sample_bids([DUID], trading_date=trading_date))
    return await EnergyBids(services.plugin_services).submit_bids(Call(bidder.participant_id, GENERATOR, body))


@use_case_fixture
async def generators(market: Market) -> tuple[Member, Member]:
    """Two generators; the first registered DUID (400 MW)."""
    old = await market.participant("OLDGEN", ["GENERATOR"], enrol=False)
    new = await market.participant("NEWGEN", ["GENERATOR"], enrol=False)
    await market.services.standing.register_unit(DUID, old.participant_id, "STATION1", 400.0)
    return old, new


def midnight_of(day: str) -> datetime:
    return datetime.combine(datetime.fromisoformat(day).date(), time(), MARKET_TIME)


async def test_on_the_transfer_day_the_new_owner_submits_recall_plans_and_the_old_one_may_not(
    services: Services, clock: SettableClock, generators: tuple[Member, Member]
) -> None:
    """Before the day the old owner's plan is accepted; from midnight market time of the day, only the new one's."""
    old, new = generators
    transfer_day = (market_day(clock.now()) + timedelta(days=3)).isoformat()
    await services.standing.transfer_unit(DUID, new.participant_id, transfer_day)

    assert (await submit_plan(services, old, "BEFORE", "2026-07-01"))["SuccessFlag"] is True
    refused = await submit_plan(services, new, "EARLY", "2026-08-01")
    assert refused["Errors"] == [
        {
            "ErrorMessage": f"DUID {DUID} is not registered to {new.participant_id}",
            "EntryNumber": 0,
            "EntryField": "DUID",
        }
    ]

    clock.moment = midnight_of(transfer_day)
    assert (await submit_plan(services, new, "AFTER", "2026-08-01"))["SuccessFlag"] is True
    refused = await submit_plan(services, old, "LATE", "2026-09-01")
    assert refused["SuccessFlag"] is False
    assert refused["Errors"][0]["ErrorMessage"] == f"DUID {DUID} is not registered to {old.participant_id}"


async def test_a_bid_belongs_to_the_owner_on_its_trading_day(
    services: Services, generators: tuple[Member, Member]
) -> None:
    """The old owner bids the day before the transfer, the new owner the day itself; not the other way round."""
    old, new = generators
    await services.standing.transfer_unit(DUID, new.participant_id, "2026-07-02")

    assert (await submit_bid(services, old, "2026-07-01")).status == 200
    assert (await submit_bid(services, new, "2026-07-02")).status == 200
    for bidder, day in ((old, "2026-07-02"), (new, "2026-07-01")):
        with pytest.raises(RuleViolationError) as refused:
            await submit_bid(services, bidder, day)
        assert [e.field for e in refused.value.errors] == ["energyBids[0].duid"]


async def test_the_unit_keeps_its_history_of_owners(services: Services, generators: tuple[Member, Member]) -> None:
    """Transfers are kept in date order; a second one from the same date replaces the first."""
    old, new = generators
    await services.standing.transfer_unit(DUID, new.participant_id, "2026-08-01")
    await services.standing.transfer_unit(DUID, old.participant_id, "2026-09-01")
    unit = await services.standing.transfer_unit(DUID, old.participant_id, "2026-08-01")
    assert unit.participant_id == old.participant_id
    assert [(day.isoformat(), owner) for day, owner in unit.transfers] == [
        ("2026-08-01", old.participant_id),
        ("2026-09-01", old.participant_id),
    ]
    assert [u.duid for u in await services.standing.units()] == [DUID]


async def test_a_transfer_needs_a_known_duid_a_generator_and_a_date(
    services: Services, market: Market, generators: tuple[Member, Member]
) -> None:
    """An unknown DUID is 404; a participant that is not a generator and a bad date are field errors."""
    _, new = generators
    with pytest.raises(NotFoundError):
        await services.standing.transfer_unit("NOSUCH", new.participant_id, "2026-08-01")
    mc = await market.participant("MC", ["MC"], enrol=False)
    with pytest.raises(InvalidError) as refused:
        await services.standing.transfer_unit(DUID, mc.participant_id, "1 August")
    assert [e.field for e in refused.value.errors] == ["participantId", "fromDate"]
