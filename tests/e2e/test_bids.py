"""Energy bids from outside: submitBids over HTTP, versions, seed 003's rejections, the operator's queue and log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from exchange.functions.bids.sample import sample_bids
from simulators.client import ParticipantClient
from tests.conformance.market import Market, queue_items
from tests.harness import ServerProcess, running_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("bids") / "data", "--rate-limit", "0") as running:
        yield running


async def submit(client: ParticipantClient, body: dict[str, Any] | bytes) -> Any:
    content = body if isinstance(body, bytes) else msgspec.json.encode(body)
    headers = client.headers(**{"Content-Type": "application/json"})
    return await client.http.post("/bids/v1/submitBids", content=content, headers=headers)


async def read_bid(client: ParticipantClient, duid: str, trading_date: str = "2026-07-01") -> Any:
    params = {"tradingDate": trading_date, "duid": duid}
    return await client.http.get("/bids/v1/bids", params=params, headers=client.headers())


def problem_fields(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [error["field"] for error in response.json()["errors"]]


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


async def test_rebids_are_versions_and_the_latest_wins(market: Market) -> None:
    """GET /bids/v1/bids answers the latest version with the history of every version."""
    gen = await market.generator()
    duid = await market.duid(gen, 400.0)
    first = sample_bids([duid], reference_id="FIRST")
    for period in first["energyBids"][0]["energyPeriods"][1:3]:
        del period["recallPeriod"]
    assert (await submit(gen, first)).status_code == 200
    second = await submit(gen, sample_bids([duid], reference_id="SECOND", recall_period=6))
    assert second.json()["data"]["energyBids"][0]["version"] == 2
    read = await gen.http.get(
        "/bids/v1/bids", params={"tradingDate": "2026-07-01", "duid": duid}, headers=gen.headers()
    )
    assert read.status_code == 200, read.text
    data = read.json()["data"]
    assert (data["duid"], data["tradingDate"], data["latest"]["version"]) == (duid, "2026-07-01", 2)
    assert data["latest"]["versionDateTime"] == second.json()["data"]["versionDateTime"]
    assert {p["recallPeriod"] for p in data["latest"]["energyPeriods"]} == {6}
    assert [(h["version"], h["referenceId"]) for h in data["history"]] == [(1, "FIRST"), (2, "SECOND")]


async def test_an_absent_recall_period_is_stored_as_24000(market: Market) -> None:
    """Seed 003's accepted sample: period 1 says 2, periods 2 and 3 leave it out and read back as 24000."""
    gen = await market.generator()
    duid = await market.duid(gen, 400.0)
    body = sample_bids([duid])
    for period in body["energyBids"][0]["energyPeriods"][1:3]:
        del period["recallPeriod"]
    assert (await submit(gen, body)).status_code == 200
    read = await gen.http.get(
        "/bids/v1/bids", params={"tradingDate": "2026-07-01", "duid": duid}, headers=gen.headers()
    )
    assert [p["recallPeriod"] for p in read.json()["data"]["latest"]["energyPeriods"][:3]] == [2, 24000, 24000]


@pytest.mark.parametrize(
    "raw",
    [b"", b"\t", b'" "', b'"5"', b"null", b"\x00"],
    ids=["blank", "tab", "quoted-space", "string-5", "null", "nul-character"],
)
async def test_a_recall_period_present_but_not_a_number_is_a_422_naming_the_period(market: Market, raw: bytes) -> None:
    """Seed 003's FAQ over HTTP: the rejection names energyBids[0].energyPeriods[3].recallPeriod."""
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
    read = await read_bid(other, mine)
    assert read.status_code == 404


async def test_bids_need_the_entity_and_the_role(market: Market) -> None:
    """A token without BID_ENERGY is a 403, as is a participant that is not a generator."""
    gen = await market.generator(scopes=["GR_RECALL"])
    assert (await submit(gen, sample_bids(["ANY"]))).status_code == 403
    lnsp = await market.participant("LNSP", ["LNSP"], ["BID_ENERGY"])
    assert (await submit(lnsp, sample_bids(["ANY"]))).status_code == 403


async def test_a_body_that_is_not_json_is_a_400(market: Market) -> None:
    """Malformed JSON elsewhere than a recallPeriod is a 400 problem."""
    gen = await market.generator()
    response = await submit(gen, b'{"referenceId": ')
    assert response.status_code == 400, response.text
