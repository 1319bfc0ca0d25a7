"""Meter churn for BPQD: only the NMI's MC or MDP on the reading date may send its readings.

The old MDP answers until the day of the change, the new one from it; on that day both may send.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from exchange.kernel.errors import InvalidError
from tests.unit.services.conftest import Market, Member, use_case_fixture

NMI = "6002000001"
NMI_FIELD = "data.transactions[0].nmiDetails[0].nmi"
CHURN_DAY = "2026-07-02"


@dataclass
class Churn:
    market: Market
    mc: Member
    old: Member
    new: Member
    lnsp: Member

    async def record(self, mdp: Member, from_date: str) -> None:
        ids = (self.mc.participant_id, mdp.participant_id, self.lnsp.participant_id)
        await self.market.services.standing.record_responsibility(NMI, *ids, from_date)

    async def send(self, sender: Member, reading_date: str, nmi: str = NMI) -> None:
        await self.market.submit(sender, self.market.body_for_nmi(sender, [self.lnsp], nmi, reading_date))

    async def refused(self, sender: Member, reading_date: str) -> None:
        with pytest.raises(InvalidError) as refused:
            await self.send(sender, reading_date)
        [error] = refused.value.errors
        assert error.field == NMI_FIELD
        assert NMI in error.message and reading_date in error.message


@use_case_fixture
async def market_with_nmi(market: Market) -> Churn:
    """An NMI's MC, its outgoing and incoming MDP and its LNSP; no record of the NMI yet."""
    return Churn(
        market,
        await market.participant("MC", ["MC"]),
        await market.participant("OLD", ["MDP"]),
        await market.participant("NEW", ["MDP"]),
        await market.participant("LNSP", ["LNSP"], enrol=False),
    )


@use_case_fixture
async def churn(market_with_nmi: Churn) -> Churn:
    """The old MDP from 2026-01-01, the new one from CHURN_DAY."""
    await market_with_nmi.record(market_with_nmi.old, "2026-01-01")
    await market_with_nmi.record(market_with_nmi.new, CHURN_DAY)
    return market_with_nmi


async def test_readings_for_a_day_the_sender_was_not_responsible_are_refused_naming_nmi_and_day(churn: Churn) -> None:
    """The old MDP after the churn day, and the new MDP before it, are refused at the NMI, naming NMI and day."""
    await churn.refused(churn.old, "2026-07-03")
    await churn.refused(churn.new, "2026-07-01")


async def test_on_the_churn_day_both_mdps_may_send(churn: Churn) -> None:
    """On the day of the change the outgoing and the incoming MDP are both accepted."""
    await churn.send(churn.old, CHURN_DAY)
    await churn.send(churn.new, CHURN_DAY)


async def test_each_mdp_may_send_for_its_own_days_and_the_mc_for_all(churn: Churn) -> None:
    """The old MDP for days before the change, the new one after it, the MC throughout."""
    await churn.send(churn.old, "2026-07-01")
    await churn.send(churn.new, "2026-07-03")
    for day in ("2026-07-01", CHURN_DAY, "2026-07-03"):
        await churn.send(churn.mc, day)


async def test_a_churn_recorded_later_applies_from_its_effective_date(market_with_nmi: Churn) -> None:
    """Recording the change moves who may send from its fromDate on, and nothing before it."""
    churn = market_with_nmi
    await churn.record(churn.old, "2026-01-01")
    await churn.refused(churn.new, "2026-07-05")

    await churn.record(churn.new, CHURN_DAY)

    await churn.send(churn.new, "2026-07-05")
    await churn.refused(churn.old, "2026-07-05")
    await churn.send(churn.old, "2026-07-01")


async def test_readings_before_the_first_record_count_as_without_standing_data(churn: Churn) -> None:
    """Before an NMI's first record no standing data applies: any MDP is accepted."""
    await churn.send(churn.new, "2025-12-31")


async def test_an_nmi_without_standing_data_is_accepted(market_with_nmi: Churn) -> None:
    """Any MDP may send readings of an NMI the exchange holds no record of."""
    await market_with_nmi.send(market_with_nmi.new, "2026-07-01", nmi="6003000001")


async def test_an_nmi_record_names_participants_in_their_roles(market_with_nmi: Churn) -> None:
    """The MC, MDP and LNSP of a record must hold those roles; each one that does not is named."""
    churn = market_with_nmi
    standing = churn.market.services.standing

    with pytest.raises(InvalidError) as refused:
        await standing.record_responsibility(
            NMI, churn.old.participant_id, churn.mc.participant_id, "NOBODY1", "2026-07-01"
        )

    assert [e.field for e in refused.value.errors] == ["mc", "mdp", "lnsp"]


async def test_readings_sent_to_another_network_than_the_nmis_lnsp_are_refused_naming_the_nmi(
    churn: Churn,
) -> None:
    """The NMI is on LNSP1's network: readings also addressed to another LNSP are a 422 on `...nmiDetails[0].nmi`."""
    market = churn.market
    other = await market.participant("LNSP", ["LNSP"], enrol=False)
    for recipients in ([other], [churn.lnsp, other]):
        body = market.body_for_nmi(churn.mc, recipients, NMI, "2026-07-01")
        with pytest.raises(InvalidError) as refused:
            await market.submit(churn.mc, body)
        [error] = refused.value.errors
        assert error.field == NMI_FIELD
        assert churn.lnsp.participant_id in error.message and other.participant_id in error.message
    assert await market.messages() == 0


async def test_the_network_that_counts_is_the_one_of_the_record_in_force_on_the_reading_date(
    market_with_nmi: Churn,
) -> None:
    """After the NMI moves to another LNSP, readings of earlier days go to the old one and later days to the new."""
    churn, market = market_with_nmi, market_with_nmi.market
    moved_to = await market.participant("LNSP", ["LNSP"], enrol=False)
    ids = churn.mc.participant_id, churn.old.participant_id
    await market.services.standing.record_responsibility(NMI, *ids, churn.lnsp.participant_id, "2026-01-01")
    await market.services.standing.record_responsibility(NMI, *ids, moved_to.participant_id, CHURN_DAY)

    await market.submit(churn.mc, market.body_for_nmi(churn.mc, [churn.lnsp], NMI, "2026-07-01"))
    await market.submit(churn.mc, market.body_for_nmi(churn.mc, [moved_to], NMI, CHURN_DAY))
    with pytest.raises(InvalidError):
        await market.submit(churn.mc, market.body_for_nmi(churn.mc, [churn.lnsp], NMI, CHURN_DAY))
    assert await market.messages() == 2
