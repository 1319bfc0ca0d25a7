"""Generator recall plans from outside: the AEMO web services over HTTP, the operator's queue and the log.

One exchange for the module; each test registers generators and DUIDs of its own through the admin API.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from exchange.functions.recall.sample import sample_plan
from simulators.client import ParticipantClient
from tests.conformance.market import Market, queue_items
from tests.problems import assert_problem

pytestmark = pytest.mark.e2e
WS = "/ws/GeneratorRecall/1.0"


async def ws(client: ParticipantClient, operation: str, body: dict[str, Any]) -> httpx.Response:
    return await client.http.post(f"{WS}/{operation}", json=body, headers=client.headers())


async def ok(client: ParticipantClient, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await ws(client, operation, body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def queued(operator: ParticipantClient, sender: str, expected: int, within: float = 20.0) -> list[dict[str, Any]]:
    return await queue_items(operator, "gr", "recall", sender, expected, within)


async def test_an_accepted_plan_reaches_the_operators_queue_and_the_transaction_log(
    market: Market, operator: ParticipantClient
) -> None:
    """SubmitRecallPlan → SuccessFlag true; the version is in GET /gr/v1/recall and the translog for gr."""
    gen = await market.generator()
    duid = await market.duid(gen)
    data = await ok(gen, "submitRecallPlan", sample_plan(gen.participant_id, duid))
    assert data["SuccessFlag"] is True and data["Errors"] == [] and data["VersionDateTime"]
    [item] = await queued(operator, gen.participant_id, 1)
    assert item["messageType"] == "RecallPlan"
    fetched = await operator.fetch(item["messageContextId"], bf="gr", resource="recall")
    assert fetched.status_code == 200
    payload = json.loads(fetched.content)
    assert (payload["DUID"], payload["OutagePlanId"], payload["VersionDateTime"]) == (
        duid,
        "PLAN1",
        data["VersionDateTime"],
    )
    log = await operator.http.get(
        "/idx/v1/translog",
        params={"businessFunctionId": "gr", "initiatingParticipantId": gen.participant_id},
        headers=operator.headers(),
    )
    assert log.status_code == 200, log.text
    [row] = log.json()["data"]
    assert (row["messageContextId"], row["receivingParticipantId"], row["businessFunctionResourceId"]) == (
        item["messageContextId"],
        "OPERATOR",
        "recall",
    )
    own_log = await gen.http.get("/idx/v1/translog", params={"businessFunctionId": "gr"}, headers=gen.headers())
    assert [r["messageContextId"] for r in own_log.json()["data"]] == [item["messageContextId"]]


async def test_a_plan_for_another_generators_duid_is_refused_with_entry_number_0(
    market: Market, operator: ParticipantClient
) -> None:
    """SuccessFlag false, one error at EntryNumber 0, EntryField DUID; nothing reaches the operator."""
    owner, other = await market.generator(), await market.generator()
    duid = await market.duid(owner)
    data = await ok(other, "submitRecallPlan", sample_plan(other.participant_id, duid))
    assert data["SuccessFlag"] is False
    assert [(e["EntryNumber"], e["EntryField"]) for e in data["Errors"]] == [(0, "DUID")]
    assert await queued(operator, other.participant_id, 1, within=1.0) == []


async def test_each_broken_rule_is_its_own_error_over_http(market: Market, operator: ParticipantClient) -> None:
    """Capacity, stage order, recall time, quantities, flags and contiguity: one Errors item each."""
    gen = await market.generator()
    duid = await market.duid(gen, max_capacity_mw=300.0)
    plan = sample_plan(gen.participant_id, duid, entries=3)
    plan["RecallPlanEntries"][0].update(Stage2MW=301.0)
    plan["RecallPlanEntries"][1].update(Stage1RecallMinutesStart=0, Stage2RecallMinutesEnd=1_051_201)
    plan["RecallPlanEntries"][2].update(StartDate="2026-07-16", EndDate="2026-07-20", Stage2RecallFlag="NOPE")
    data = await ok(gen, "submitRecallPlan", plan)
    assert data["SuccessFlag"] is False
    assert [(e["EntryNumber"], e["EntryField"]) for e in data["Errors"]] == [
        (1, "Stage2MW"),
        (2, "Stage1RecallMinutesStart"),
        (2, "Stage2RecallMinutesEnd"),
        (3, "Stage2RecallFlag"),
        (3, "StartDate"),
    ]


async def test_overlapping_plans_of_a_duid_are_refused(market: Market, operator: ParticipantClient) -> None:
    """A second plan sharing days with the first is refused at EntryNumber 0."""
    gen = await market.generator()
    duid = await market.duid(gen)
    assert (await ok(gen, "submitRecallPlan", sample_plan(gen.participant_id, duid)))["SuccessFlag"]
    second = sample_plan(gen.participant_id, duid, plan_id="PLAN2", start="2026-07-14")
    data = await ok(gen, "submitRecallPlan", second)
    assert [(e["EntryNumber"], e["EntryField"]) for e in data["Errors"]] == [(0, "RecallPlanEntries")]


async def test_modify_clone_and_delete_are_versions_the_operator_receives(
    market: Market, operator: ParticipantClient
) -> None:
    """Create, modify, clone onto another DUID and delete: four versions in the operator's queue, lists follow."""
    gen = await market.generator()
    first, second = await market.duid(gen), await market.duid(gen)
    pid = gen.participant_id
    assert (await ok(gen, "submitRecallPlan", sample_plan(pid, first)))["SuccessFlag"]
    modified = await ok(gen, "submitRecallPlan", sample_plan(pid, first, entries=3))
    assert modified["Version"] == 2
    clone = {
        "ParticipantId": pid,
        "OutagePlanId": "COPY",
        "DUID": second,
        "ClonedFromOutagePlanId": "PLAN1",
        "ClonedFromDUID": first,
    }
    assert (await ok(gen, "submitRecallPlan", clone))["SuccessFlag"]
    got = await ok(gen, "getRecallPlan", {"ParticipantId": pid, "OutagePlanId": "PLAN1", "DUID": first})
    assert got["Version"] == 2 and len(got["RecallPlanEntries"]) == 3
    listed = await ok(gen, "listRecallPlans", {"ParticipantId": pid})
    assert sorted((p["DUID"], p["OutagePlanId"]) for p in listed["RecallPlans"]) == sorted(
        [(first, "PLAN1"), (second, "COPY")]
    )
    deleted = await ok(gen, "submitRecallPlan", sample_plan(pid, first) | {"RecallPlanEntries": []})
    assert deleted["SuccessFlag"] and deleted["Version"] == 3
    listed = await ok(gen, "listRecallPlans", {"DUID": first})
    assert listed["RecallPlans"] == []
    items = await queued(operator, pid, 4)
    actions = []
    for item in items:
        fetched = await operator.fetch(item["messageContextId"], bf="gr", resource="recall")
        actions.append(json.loads(fetched.content)["Action"])
    assert sorted(actions) == ["Cloned", "Created", "Deleted", "Modified"]


async def test_the_operator_reads_every_plan_and_generators_only_their_own(
    market: Market, operator: ParticipantClient
) -> None:
    """listRecallPlans and getRecallPlan: the operator sees all; another generator sees nothing of them."""
    owner, other = await market.generator(), await market.generator()
    duid = await market.duid(owner)
    await ok(owner, "submitRecallPlan", sample_plan(owner.participant_id, duid))
    seen = await ok(operator, "listRecallPlans", {"DUID": duid})
    assert [p["OutagePlanId"] for p in seen["RecallPlans"]] == ["PLAN1"]
    assert (await ok(operator, "getRecallPlan", {"OutagePlanId": "PLAN1", "DUID": duid}))["SuccessFlag"] is True
    assert (await ok(other, "listRecallPlans", {"DUID": duid}))["RecallPlans"] == []
    assert (await ok(other, "getRecallPlan", {"OutagePlanId": "PLAN1", "DUID": duid}))["SuccessFlag"] is False


async def test_recall_flags_need_only_a_valid_token(market: Market, operator: ParticipantClient) -> None:
    """getRecallFlags answers a token without GR_RECALL; no token at all is a 401."""
    gen = await market.generator(scopes=["TRANSLOG_TRANSLOG"])
    data = await ok(gen, "getRecallFlags", {})
    assert [f["RecallFlagId"] for f in data["RecallFlags"]] == ["NRL", "UNC", "IFO"]
    assert_problem(await gen.http.post(f"{WS}/getRecallFlags", json={}), 401)
    refused = await ws(gen, "submitRecallPlan", sample_plan(gen.participant_id, "ANY"))
    assert_problem(refused, 403)


async def test_a_body_that_is_not_json_is_a_400(market: Market, operator: ParticipantClient) -> None:
    """Malformed syntax is a problem 400, never a 5xx."""
    gen = await market.generator()
    response = await gen.http.post(f"{WS}/submitRecallPlan", content=b"{", headers=gen.headers())
    assert_problem(response, 400)


async def transfer(operator: ParticipantClient, duid: str, body: dict[str, Any]) -> httpx.Response:
    return await operator.http.put(f"/admin/v1/duids/{duid}", json=body, headers=operator.headers())


async def test_transferring_an_unknown_duid_is_a_404(market: Market, operator: ParticipantClient) -> None:
    """PUT /admin/v1/duids/{duid} of a DUID never registered, to a real generator from a good date: not found."""
    gen = await market.generator()
    response = await transfer(operator, "DNEVER01", {"participantId": gen.participant_id, "fromDate": "2026-07-01"})
    assert_problem(response, 404)


async def test_a_transfer_to_a_participant_that_is_no_generator_is_a_422_at_participant_id(
    market: Market, operator: ParticipantClient
) -> None:
    """Neither a participant of another role nor one that does not exist may own a DUID; the owner stays."""
    owner = await market.generator()
    duid = await market.duid(owner)
    lnsp = await market.participant("LNSP", ["LNSP"], ["PQD_BPQD"])
    for participant_id in (lnsp.participant_id, "NOSUCHPART"):
        response = await transfer(operator, duid, {"participantId": participant_id, "fromDate": "2026-07-01"})
        assert_problem(response, 422, ["participantId"])
    unit = await operator.http.get(f"/admin/v1/duids/{duid}", headers=operator.headers())
    assert unit.status_code == 200, unit.text
    data = unit.json()["data"]
    assert (data["participantId"], data["transfers"]) == (owner.participant_id, [])


async def test_a_transfer_from_a_date_that_is_no_date_is_a_422_at_from_date(
    market: Market, operator: ParticipantClient
) -> None:
    """Text, a day that does not exist and a date with a time are each refused at fromDate."""
    owner, other = await market.generator(), await market.generator()
    duid = await market.duid(owner)
    for from_date in ("soon", "2026-02-30", "2026-07-01T00:00:00"):
        response = await transfer(operator, duid, {"participantId": other.participant_id, "fromDate": from_date})
        assert_problem(response, 422, ["fromDate"])
