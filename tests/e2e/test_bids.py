"""Energy bids from outside: submitBids over HTTP, versions, recall FAQ rejections, the operator's queue and log."""

from __future__ import annotations

import copy
import json
from typing import Any

import msgspec
import pytest

from exchange.functions.bids.sample import sample_bids
from simulators.client import ParticipantClient
from tests.conformance.market import Market, queue_items
from tests.problems import assert_problem

pytestmark = pytest.mark.e2e


async def submit(client: ParticipantClient, body: dict[str, Any] | bytes) -> Any:
    content = body if isinstance(body, bytes) else msgspec.json.encode(body)
    headers = client.headers(**{"Content-Type": "application/json"})
    return await client.http.post("/bids/v1/submitBids", content=content, headers=headers)


async def read_bid(client: ParticipantClient, duid: str, trading_date: str = "2026-07-01") -> Any:
    params = {"tradingDate": trading_date, "duid": duid}
    return await client.http.get("/bids/v1/bids", params=params, headers=client.headers())


def problem_fields(response: Any) -> list[str]:
    return [error["field"] for error in assert_problem(response, 422)["errors"]]


def as_stored(bid: dict[str, Any], accepted: dict[str, Any], version: int) -> dict[str, Any]:
    """The energy bid as the exchange keeps it: as sent, an absent recallPeriod as 24000, with its version's
    number, time and the submission's referenceId (from the 200 answer `accepted`)."""
    stored = copy.deepcopy(bid)
    for period in stored["energyPeriods"]:
        period.setdefault("recallPeriod", 24000)
    stored |= {"version": version, "versionDateTime": accepted["versionDateTime"]}
    return stored | {"referenceId": accepted["referenceId"]}


def without_recall_periods(duid: str, reference_id: str) -> dict[str, Any]:
    """The sample bids of `duid`, periods 2 and 3 leaving their recall period out (the recall FAQ's sample)."""
    body = sample_bids([duid], reference_id=reference_id)
    for period in body["energyBids"][0]["energyPeriods"][1:3]:
        del period["recallPeriod"]
    return body


async def delivered_bids(operator: ParticipantClient, sender: str, count: int) -> list[dict[str, Any]]:
    """The payloads of the `count` bid messages from `sender` in the operator's queue, by their first bid's version."""
    items = await queue_items(operator, "bid", "energy", sender, count)
    assert len(items) == count, items
    payloads = []
    for item in items:
        fetched = await operator.fetch(item["messageContextId"], bf="bid", resource="energy")
        assert fetched.status_code == 200, fetched.text
        payloads.append(json.loads(fetched.content))
    return sorted(payloads, key=lambda payload: int(payload["energyBids"][0]["version"]))


async def test_an_accepted_bid_reaches_the_operators_queue_and_the_transaction_log(
    market: Market, operator: ParticipantClient
) -> None:
    """200 with referenceId, versionDateTime and versions; GET /bid/v1/energy and the translog show it."""
    gen = await market.generator()
    duid = await market.duid(gen, 400.0)
    response = await submit(gen, sample_bids([duid], reference_id="REF-E2E"))
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["referenceId"] == "REF-E2E"
    assert data["energyBids"] == [{"duid": duid, "tradingDate": "2026-07-01", "version": 1}]
    [item] = await queue_items(operator, "bid", "energy", gen.participant_id, 1)
    assert (item["messageType"], item["priority"]) == ("EnergyBid", "High")
    fetched = await operator.fetch(item["messageContextId"], bf="bid", resource="energy")
    assert json.loads(fetched.content)["energyBids"][0]["duid"] == duid
    log = await operator.http.get(
        "/idx/v1/translog",
        params={"businessFunctionId": "bid", "initiatingParticipantId": gen.participant_id},
        headers=operator.headers(),
    )
    assert [(r["messageContextId"], r["receivingParticipantId"]) for r in log.json()["data"]] == [
        (item["messageContextId"], "OPERATOR")
    ]


async def test_rebids_are_versions_and_the_latest_wins(market: Market, operator: ParticipantClient) -> None:
    """GET /bids/v1/bids answers the latest version as sent with the history of every version; the operator's
    queue holds both versions, each as stored."""
    gen = await market.generator()
    duid = await market.duid(gen, 400.0)
    first = without_recall_periods(duid, "FIRST")
    first_answer = await submit(gen, first)
    assert first_answer.status_code == 200, first_answer.text
    assert first_answer.json()["data"]["energyBids"] == [{"duid": duid, "tradingDate": "2026-07-01", "version": 1}]
    second_bids = sample_bids([duid], reference_id="SECOND", recall_period=6, max_avail=350.0)
    second = await submit(gen, second_bids)
    assert second.status_code == 200, second.text
    assert second.json()["data"]["energyBids"] == [{"duid": duid, "tradingDate": "2026-07-01", "version": 2}]

    read = await read_bid(gen, duid)
    assert read.status_code == 200, read.text
    data = read.json()["data"]
    assert (data["duid"], data["tradingDate"]) == (duid, "2026-07-01")
    assert data["latest"] == as_stored(second_bids["energyBids"][0], second.json()["data"], 2)
    assert {p["recallPeriod"] for p in data["latest"]["energyPeriods"]} == {6}
    versions = [(1, first_answer.json()["data"]), (2, second.json()["data"])]
    assert data["history"] == [
        {"version": v, "versionDateTime": answer["versionDateTime"], "referenceId": answer["referenceId"]}
        for v, answer in versions
    ]
    delivered = await delivered_bids(operator, gen.participant_id, 2)
    assert [payload["energyBids"] for payload in delivered] == [
        [as_stored(first["energyBids"][0], first_answer.json()["data"], 1)],
        [as_stored(second_bids["energyBids"][0], second.json()["data"], 2)],
    ]
    assert {payload["participantId"] for payload in delivered} == {gen.participant_id}


async def test_an_absent_recall_period_is_stored_as_24000(market: Market, operator: ParticipantClient) -> None:
    """The recall FAQ's accepted sample: period 1 says 2, periods 2 and 3 leave it out and read back as 24000; the rest
    of the bid is stored and delivered to the operator as sent."""
    gen = await market.generator()
    duid = await market.duid(gen, 400.0)
    body = without_recall_periods(duid, "REF-ABSENT")
    accepted = await submit(gen, body)
    assert accepted.status_code == 200, accepted.text
    stored = as_stored(body["energyBids"][0], accepted.json()["data"], 1)

    read = await read_bid(gen, duid)
    assert read.status_code == 200, read.text
    latest = read.json()["data"]["latest"]
    assert [p["recallPeriod"] for p in latest["energyPeriods"][:4]] == [2, 24000, 24000, 2]
    assert latest == stored
    [delivered] = await delivered_bids(operator, gen.participant_id, 1)
    assert delivered["energyBids"] == [stored]
    assert (delivered["participantId"], delivered["referenceId"]) == (gen.participant_id, "REF-ABSENT")


@pytest.mark.parametrize(
    "raw",
    [b"", b"\t", b'" "', b'"5"', b"null", b"\x00"],
    ids=["blank", "tab", "quoted-space", "string-5", "null", "nul-character"],
)
async def test_a_recall_period_present_but_not_a_number_is_a_422_naming_the_period(market: Market, raw: bytes) -> None:
    """The recall FAQ's FAQ over HTTP: the rejection names energyBids[0].energyPeriods[3].recallPeriod."""
    gen = await market.generator()
    duid = await market.duid(gen, 400.0)
    bids = sample_bids([duid])
    bids["energyBids"][0]["energyPeriods"][3]["recallPeriod"] = 777777
    body = msgspec.json.encode(bids).replace(b'"recallPeriod":777777', b'"recallPeriod":' + raw)
    assert problem_fields(await submit(gen, body)) == ["energyBids[0].energyPeriods[3].recallPeriod"]


async def test_a_daily_energy_constraint_of_max_capacity_times_24_is_a_422(market: Market) -> None:
    """400 MW x 24 h = 9600 MWh: a constraint of 9600 is rejected at its field."""
    gen = await market.generator()
    duid = await market.duid(gen, 400.0)
    bids = sample_bids([duid])
    bids["energyBids"][0]["dailyEnergyConstraint"] = 9600
    assert problem_fields(await submit(gen, bids)) == ["energyBids[0].dailyEnergyConstraint"]


async def test_a_bid_for_another_generators_duid_is_a_422_naming_the_duid(
    market: Market, operator: ParticipantClient
) -> None:
    """The second bid is for someone else's DUID: 422 at energyBids[1].duid, and nothing is delivered."""
    owner, other = await market.generator(), await market.generator()
    theirs, mine = await market.duid(owner, 400.0), await market.duid(other, 400.0)
    assert problem_fields(await submit(other, sample_bids([mine, theirs]))) == ["energyBids[1].duid"]
    assert await queue_items(operator, "bid", "energy", other.participant_id, 1, within=1.0) == []
    assert_problem(await read_bid(other, mine), 404)


async def test_bids_need_the_entity_and_the_role(market: Market) -> None:
    """A token without BID_ENERGY is a 403, as is a participant that is not a generator."""
    gen = await market.generator(scopes=["GR_RECALL"])
    assert_problem(await submit(gen, sample_bids(["ANY"])), 403)
    lnsp = await market.participant("LNSP", ["LNSP"], ["BID_ENERGY"])
    assert_problem(await submit(lnsp, sample_bids(["ANY"])), 403)


async def test_a_body_that_is_not_json_is_a_400(market: Market) -> None:
    """Malformed JSON elsewhere than a recallPeriod is a 400 problem."""
    gen = await market.generator()
    response = await submit(gen, b'{"referenceId": ')
    assert_problem(response, 400)
