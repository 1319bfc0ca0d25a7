"""Meter churn for BPQD from outside: only the NMI's MC or MDP on the reading date may send its readings.

Standing data through `POST /admin/v1/nmis`: the old MDP answers until the day of the change D, the new one from
D; on D both may send. Each test uses an NMI of its own on the module's exchange.
"""

from __future__ import annotations

import secrets
from typing import Any

import msgspec
import pytest

from exchange.functions.bpqd.nmi import nmi_checksum
from exchange.functions.bpqd.sample import sample_envelope
from simulators.client import ParticipantClient
from tests.conformance.market import Market
from tests.e2e.conftest import Participants

pytestmark = pytest.mark.e2e
NMI_FIELD = "data.transactions[0].nmiDetails[0].nmi"
CHURN_DAY = "2026-07-02"


class Churn:
    """One NMI whose MDP changes from `old` to `new` on CHURN_DAY (its MC and LNSP stay)."""

    def __init__(self, mc: ParticipantClient, old: ParticipantClient, new: ParticipantClient, lnsp: ParticipantClient):
        self.mc, self.old, self.new, self.lnsp = mc, old, new, lnsp
        self.nmi = f"6002{secrets.randbelow(1_000_000):06d}"

    async def record(self, market: Market, mdp: ParticipantClient, from_date: str) -> None:
        await market.nmi_record(
            self.nmi, self.mc.participant_id, mdp.participant_id, self.lnsp.participant_id, from_date
        )

    async def send(self, sender: ParticipantClient, reading_date: str) -> Any:
        envelope: Any = sample_envelope(sender.participant_id, [self.lnsp.participant_id], reading_date=reading_date)
        detail = envelope["data"]["transactions"][0]["nmiDetails"][0]
        detail["nmi"], detail["nmiChecksum"] = self.nmi, nmi_checksum(self.nmi)
        return await sender.submit(msgspec.json.encode(envelope))


@pytest.fixture
async def market(participants: Participants, operator: ParticipantClient) -> Market:
    return Market(participants._server, operator)


@pytest.fixture
async def churn(participants: Participants, market: Market) -> Churn:
    """An NMI with records: old MDP from 2026-01-01, new MDP from CHURN_DAY."""
    made = Churn(
        await participants.new("MC", ["MC"]),
        await participants.new("OLD", ["MDP"]),
        await participants.new("NEW", ["MDP"]),
        await participants.new("LNSP", ["LNSP"], enrol=False),
    )
    await made.record(market, made.old, "2026-01-01")
    await made.record(market, made.new, CHURN_DAY)
    return made


def assert_refused_at_nmi(response: Any, nmi: str, day: str) -> None:
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [NMI_FIELD]
    assert nmi in errors[0]["message"] and day in errors[0]["message"]


async def test_readings_for_a_day_the_sender_was_not_responsible_are_refused_naming_nmi_and_day(churn: Churn) -> None:
    """The old MDP after the churn day, and the new MDP before it, are refused at the NMI, naming NMI and day."""
    assert_refused_at_nmi(await churn.send(churn.old, "2026-07-03"), churn.nmi, "2026-07-03")
    assert_refused_at_nmi(await churn.send(churn.new, "2026-07-01"), churn.nmi, "2026-07-01")


async def test_on_the_churn_day_both_mdps_may_send(churn: Churn) -> None:
    """On the day of the change the outgoing and the incoming MDP are both accepted."""
    assert (await churn.send(churn.old, CHURN_DAY)).status_code == 200
    assert (await churn.send(churn.new, CHURN_DAY)).status_code == 200


async def test_each_mdp_may_send_for_its_own_days_and_the_mc_for_all(churn: Churn) -> None:
    """The old MDP for days before the change, the new one after it, the MC throughout."""
    assert (await churn.send(churn.old, "2026-07-01")).status_code == 200
    assert (await churn.send(churn.new, "2026-07-03")).status_code == 200
    for day in ("2026-07-01", CHURN_DAY, "2026-07-03"):
        assert (await churn.send(churn.mc, day)).status_code == 200


async def test_standing_data_changes_apply_from_their_effective_date(
    participants: Participants, market: Market
) -> None:
    """A churn recorded later changes who may send from its fromDate on, and nothing before it."""
    churn = Churn(
        await participants.new("MC", ["MC"]),
        await participants.new("OLD", ["MDP"]),
        await participants.new("NEW", ["MDP"]),
        await participants.new("LNSP", ["LNSP"], enrol=False),
    )
    await churn.record(market, churn.old, "2026-01-01")
    assert_refused_at_nmi(await churn.send(churn.new, "2026-07-05"), churn.nmi, "2026-07-05")
    assert (await churn.send(churn.old, "2026-07-05")).status_code == 200
    await churn.record(market, churn.new, CHURN_DAY)
    assert (await churn.send(churn.new, "2026-07-05")).status_code == 200
    assert_refused_at_nmi(await churn.send(churn.old, "2026-07-05"), churn.nmi, "2026-07-05")
    assert (await churn.send(churn.old, "2026-07-01")).status_code == 200


async def test_readings_before_the_first_record_count_as_without_standing_data(churn: Churn) -> None:
    """Before an NMI's first record no standing data applies: any MDP is accepted."""
    assert (await churn.send(churn.new, "2025-12-31")).status_code == 200


async def test_an_nmi_without_standing_data_is_accepted(participants: Participants) -> None:
    """Any MDP may send readings of an NMI the exchange holds no record of."""
    mdp = await participants.new("MDP", ["MDP"])
    lnsp = await participants.new("LNSP", ["LNSP"], enrol=False)
    envelope: Any = sample_envelope(mdp.participant_id, [lnsp.participant_id])
    detail = envelope["data"]["transactions"][0]["nmiDetails"][0]
    detail["nmi"] = f"6003{secrets.randbelow(1_000_000):06d}"
    detail["nmiChecksum"] = nmi_checksum(detail["nmi"])
    assert (await mdp.submit(msgspec.json.encode(envelope))).status_code == 200
