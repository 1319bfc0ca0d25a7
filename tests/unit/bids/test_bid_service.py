"""The bid operations on in-memory services: versions per DUID and day, the default recallPeriod, delivery."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from exchange.functions.bids.sample import sample_bids
from exchange.functions.bids.service import EnergyBids
from exchange.functions.errors import MalformedBodyError, NothingFoundError, OperationRefusedError, RuleViolationError
from exchange.functions.services import Call
from tests.conformance.fakes import FakeServices

GENERATOR = frozenset({"GENERATOR"})
OPERATOR = frozenset({"OPERATOR"})


async def submit(bids: EnergyBids, body: dict[str, Any], caller: str = "GEN1") -> dict[str, Any]:
    answer = await bids.submit_bids(Call(caller, GENERATOR, msgspec.json.encode(body)))
    assert answer.status == 200
    data: dict[str, Any] = answer.body["data"]
    return data


async def read(bids: EnergyBids, duid: str, day: str, caller: str = "GEN1", roles: frozenset[str] = GENERATOR) -> Any:
    answer = await bids.bids(Call(caller, roles, b"", {"duid": duid, "tradingDate": day}))
    return answer.body["data"]


async def test_an_accepted_submission_answers_its_reference_and_versions(bids: EnergyBids) -> None:
    """200 with referenceId as submitted, versionDateTime and one version per DUID and day."""
    data = await submit(bids, sample_bids(["DUID1", "DUID2"], reference_id="MY-REF"))
    assert data["referenceId"] == "MY-REF"
    assert data["versionDateTime"].endswith("+10:00")
    assert data["energyBids"] == [
        {"duid": "DUID1", "tradingDate": "2026-07-01", "version": 1},
        {"duid": "DUID2", "tradingDate": "2026-07-01", "version": 1},
    ]


async def test_accepted_bids_travel_to_the_operator_as_bid_energy(bids: EnergyBids, services: FakeServices) -> None:
    """One message per accepted submission, business function `bid`, resource `energy`, for OPERATOR."""
    await submit(bids, sample_bids(["DUID1"]))
    [message] = services.delivered
    assert (message.business_function_id, message.resource_id, list(message.recipients)) == (
        "bid",
        "energy",
        ["OPERATOR"],
    )
    payload = json.loads(message.payload)
    assert payload["referenceId"] == "REF-0001" and payload["energyBids"][0]["version"] == 1


async def test_a_rebid_is_a_new_version_and_the_latest_wins(bids: EnergyBids) -> None:
    """The second bid for a DUID and day is version 2; the read answers it as latest, with both in history."""
    await submit(bids, sample_bids(["DUID1"], reference_id="FIRST"))
    second = await submit(bids, sample_bids(["DUID1"], reference_id="SECOND", max_avail=350.0))
    assert second["energyBids"][0]["version"] == 2
    data = await read(bids, "DUID1", "2026-07-01")
    assert (data["duid"], data["tradingDate"]) == ("DUID1", "2026-07-01")
    assert data["latest"]["version"] == 2 and data["latest"]["referenceId"] == "SECOND"
    assert data["latest"]["versionDateTime"] == second["versionDateTime"]
    assert data["latest"]["energyPeriods"][0]["pasaAvail"] == 350.0
    assert [(h["version"], h["referenceId"]) for h in data["history"]] == [(1, "FIRST"), (2, "SECOND")]
    other_day = await submit(bids, sample_bids(["DUID1"], trading_date="2026-07-02"))
    assert other_day["energyBids"][0]["version"] == 1


async def test_an_absent_recall_period_is_stored_as_24000(bids: EnergyBids) -> None:
    """Recall FAQ: recallPeriod removed from periods 2 and 3 is stored as 24000; period 1 keeps its 2."""
    body = sample_bids(["DUID1"])
    for period in body["energyBids"][0]["energyPeriods"][1:3]:
        del period["recallPeriod"]
    await submit(bids, body)
    periods = (await read(bids, "DUID1", "2026-07-01"))["latest"]["energyPeriods"]
    assert [p["recallPeriod"] for p in periods[:4]] == [2, 24000, 24000, 2]


async def test_a_rejected_submission_stores_and_delivers_nothing(bids: EnergyBids, services: FakeServices) -> None:
    """One bad bid rejects the whole submission: no version of the good one either."""
    body = sample_bids(["DUID1", "DUID2"])
    body["energyBids"][1]["energyPeriods"][3]["recallPeriod"] = "5"
    with pytest.raises(RuleViolationError) as raised:
        await submit(bids, body)
    assert [e.field for e in raised.value.errors] == ["energyBids[1].energyPeriods[3].recallPeriod"]
    assert services.delivered == [] and services.aggregates == {}


async def test_bids_are_read_by_their_owner_and_the_operator_only(bids: EnergyBids) -> None:
    """Another generator's bid reads as not found (404); the operator reads every bid."""
    await submit(bids, sample_bids(["DUID3"]), caller="GEN2")
    with pytest.raises(NothingFoundError):
        await read(bids, "DUID3", "2026-07-01")
    assert (await read(bids, "DUID3", "2026-07-01", "OPERATOR", OPERATOR))["latest"]["duid"] == "DUID3"
    with pytest.raises(NothingFoundError):
        await read(bids, "DUID1", "2026-07-01")


@pytest.mark.parametrize("query", [{}, {"duid": "DUID1"}, {"duid": "DUID1", "tradingDate": "July"}])
async def test_the_read_needs_a_duid_and_a_trading_date(bids: EnergyBids, query: dict[str, str]) -> None:
    """Missing or malformed query parameters are a 400."""
    with pytest.raises(MalformedBodyError):
        await bids.bids(Call("GEN1", GENERATOR, b"", query))


async def test_only_generators_submit_bids(bids: EnergyBids) -> None:
    """A participant without the GENERATOR role is refused (403)."""
    with pytest.raises(OperationRefusedError):
        await bids.submit_bids(Call("OPERATOR", OPERATOR, msgspec.json.encode(sample_bids(["DUID1"]))))


@pytest.mark.parametrize("body", [b"", b"{", b"\xff\xfe"])
async def test_a_body_that_is_not_json_is_malformed(bids: EnergyBids, body: bytes) -> None:
    """Not UTF-8 JSON: 400."""
    with pytest.raises(MalformedBodyError):
        await bids.submit_bids(Call("GEN1", GENERATOR, body))
