"""Meter churn for BPQD from outside: standing data recorded through `POST /admin/v1/nmis` decides who may send
an NMI's readings. The rules themselves (the old MDP until the day of the change, the new one from it, both on
it) are pinned in tests/unit/services/test_meter_churn.py.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import msgspec
import pytest

from exchange.functions.bpqd.nmi import nmi_checksum
from exchange.functions.bpqd.sample import sample_envelope
from simulators.client import ParticipantClient
from tests.conformance.market import Market
from tests.e2e.conftest import Participants
from tests.e2e.queue_helpers import settled_queue
from tests.problems import assert_problem

pytestmark = pytest.mark.e2e
NMI_FIELD = "data.transactions[0].nmiDetails[0].nmi"
CHURN_DAY = "2026-07-02"


class Churn:
    """One NMI whose MDP changes from `old` to `new` on CHURN_DAY (its MC and LNSP stay)."""

    def __init__(self, mc: ParticipantClient, old: ParticipantClient, new: ParticipantClient, lnsp: ParticipantClient):
        self.mc, self.old, self.new, self.lnsp = mc, old, new, lnsp
        self.nmi = f"6002{secrets.randbelow(1_000_000):06d}"
        # messageContextId → (sender, bytes) of every accepted submission.
        self.sent: dict[str, tuple[str, bytes]] = {}

    async def record(self, market: Market, mdp: ParticipantClient, from_date: str) -> None:
        await market.nmi_record(
            self.nmi, self.mc.participant_id, mdp.participant_id, self.lnsp.participant_id, from_date
        )

    async def send(self, sender: ParticipantClient, reading_date: str) -> httpx.Response:
        """Submit the NMI's readings for `reading_date` as `sender`; an accepted one is remembered as sent."""
        envelope: Any = sample_envelope(sender.participant_id, [self.lnsp.participant_id], reading_date=reading_date)
        detail = envelope["data"]["transactions"][0]["nmiDetails"][0]
        detail["nmi"], detail["nmiChecksum"] = self.nmi, nmi_checksum(self.nmi)
        body = msgspec.json.encode(envelope)
        response = await sender.submit(body)
        if response.status_code == 200:
            self.sent[response.json()["data"]["messageContextId"]] = (sender.participant_id, body)
        return response

    async def assert_lnsp_received_exactly_what_was_accepted(self) -> None:
        """The LNSP's queue holds each accepted message, from its sender, with the bytes sent, and nothing refused
        (shown by a marker the MC sends after them all)."""
        assert sorted(await settled_queue(self.mc, self.lnsp)) == sorted(self.sent)
        listed = await self.lnsp.list_queue(itemCount=500)
        assert listed.status_code == 200, listed.text
        senders = {item["messageContextId"]: item["initiatingParticipantId"] for item in listed.json()["data"]}
        for context_id, (sender, body) in self.sent.items():
            assert senders[context_id] == sender, context_id
            fetched = await self.lnsp.fetch(context_id, gzip_ok=False)
            assert fetched.status_code == 200, fetched.text
            assert fetched.content == body, context_id


@pytest.fixture
async def market(participants: Participants, operator: ParticipantClient) -> Market:
    return Market(participants.server, operator)


def assert_refused_at_nmi(response: httpx.Response, nmi: str, day: str) -> None:
    """A 422 problem naming only the NMI's field, whose message gives the NMI and the reading day."""
    [error] = assert_problem(response, 422, [NMI_FIELD])["errors"]
    assert nmi in error["message"] and day in error["message"], error


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
    assert len(churn.sent) == 3
    await churn.assert_lnsp_received_exactly_what_was_accepted()
