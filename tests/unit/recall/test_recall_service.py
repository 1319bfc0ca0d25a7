"""The recall web services on in-memory services: versions, clones, deletions, filters and who sees what."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from exchange.functions.errors import MalformedBodyError, OperationRefusedError
from exchange.functions.recall.domain import RecallPlan
from exchange.functions.recall.sample import sample_plan
from exchange.functions.recall.service import RecallPlans
from exchange.functions.services import Call
from tests.conformance.fakes import FakeServices

GEN1 = frozenset({"GENERATOR"})
OPERATOR = frozenset({"OPERATOR"})


async def call(handler: Any, body: dict[str, Any], *, caller: str = "GEN1", roles: frozenset[str] = GEN1) -> Any:
    answer = await handler(Call(caller, roles, msgspec.json.encode(body)))
    assert answer.status == 200
    return answer.body["data"]


async def test_an_accepted_plan_is_version_1_delivered_to_the_operator(
    plans: RecallPlans, services: FakeServices
) -> None:
    """SuccessFlag true with VersionDateTime; the version travels to the operator as gr/recall."""
    data = await call(plans.submit_recall_plan, sample_plan("GEN1", "DUID1"))
    assert data["SuccessFlag"] is True and data["Errors"] == [] and data["Version"] == 1
    [message] = services.delivered
    assert (message.business_function_id, message.resource_id, list(message.recipients)) == (
        "gr",
        "recall",
        ["OPERATOR"],
    )
    assert message.message_context_id.startswith("gr~recall~m~GEN1~")
    payload = json.loads(message.payload)
    assert payload["VersionDateTime"] == data["VersionDateTime"]
    assert (payload["OutagePlanId"], payload["DUID"], payload["Action"], payload["Version"]) == (
        "PLAN1",
        "DUID1",
        "Created",
        1,
    )


async def test_a_refused_plan_changes_nothing(plans: RecallPlans, services: FakeServices) -> None:
    """SuccessFlag false with the errors; nothing is stored or delivered."""
    data = await call(plans.submit_recall_plan, sample_plan("GEN1", "DUID3"))
    assert data == {
        "SuccessFlag": False,
        "VersionDateTime": None,
        "Errors": [{"ErrorMessage": "DUID DUID3 is not registered to GEN1", "EntryNumber": 0, "EntryField": "DUID"}],
    }
    assert services.delivered == [] and services.aggregates == {}


async def test_modifying_a_plan_makes_a_new_version_and_keeps_the_old(
    plans: RecallPlans, services: FakeServices
) -> None:
    """Resubmitting the same OutagePlanId is version 2; version 1 stays as it was."""
    await call(plans.submit_recall_plan, sample_plan("GEN1", "DUID1"))
    changed = sample_plan("GEN1", "DUID1", entries=3, mw=150.0)
    data = await call(plans.submit_recall_plan, changed)
    assert data["Version"] == 2
    plan = await services.find(RecallPlan, RecallPlan.create_id("DUID1", "PLAN1"))
    assert plan is not None
    assert [v["Action"] for v in plan.versions] == ["Created", "Modified"]
    assert [len(v["RecallPlanEntries"]) for v in plan.versions] == [2, 3]
    got = await call(plans.get_recall_plan, {"OutagePlanId": "PLAN1", "DUID": "DUID1"})
    assert got["Version"] == 2 and got["RecallPlanEntries"][0]["Stage1MW"] == 150.0
    assert len(services.delivered) == 2


async def test_deleting_a_plan_is_a_version_without_entries(plans: RecallPlans, services: FakeServices) -> None:
    """No entries deletes: the plan leaves lists and frees its days, and the deletion is delivered too."""
    await call(plans.submit_recall_plan, sample_plan("GEN1", "DUID1"))
    deleted = await call(plans.submit_recall_plan, sample_plan("GEN1", "DUID1") | {"RecallPlanEntries": []})
    assert deleted["SuccessFlag"] is True and deleted["Version"] == 2
    assert json.loads(services.delivered[-1].payload)["Action"] == "Deleted"
    assert (await call(plans.list_recall_plans, {}))["RecallPlans"] == []
    gone = await call(plans.get_recall_plan, {"OutagePlanId": "PLAN1"})
    assert gone["SuccessFlag"] is False and gone["Errors"][0]["EntryField"] == "OutagePlanId"
    reused = await call(plans.submit_recall_plan, sample_plan("GEN1", "DUID1", plan_id="OTHER"))
    assert reused["SuccessFlag"] is True


async def test_deleting_a_plan_that_is_not_there_is_refused(plans: RecallPlans) -> None:
    """An empty plan that names no plan in force is an error at RecallPlanEntries."""
    data = await call(plans.submit_recall_plan, sample_plan("GEN1", "DUID1") | {"RecallPlanEntries": []})
    assert [(e["EntryNumber"], e["EntryField"]) for e in data["Errors"]] == [(0, "RecallPlanEntries")]


async def test_cloning_copies_a_plan_under_a_new_id(plans: RecallPlans, services: FakeServices) -> None:
    """ClonedFromOutagePlanId without entries copies the source's entries (here onto another DUID)."""
    await call(plans.submit_recall_plan, sample_plan("GEN1", "DUID1"))
    clone = {"OutagePlanId": "COPY", "DUID": "DUID2", "ClonedFromOutagePlanId": "PLAN1", "ClonedFromDUID": "DUID1"}
    data = await call(plans.submit_recall_plan, clone)
    assert data["SuccessFlag"] is True, data
    payload = json.loads(services.delivered[-1].payload)
    assert payload["Action"] == "Cloned" and payload["ClonedFrom"] == {"OutagePlanId": "PLAN1", "DUID": "DUID1"}
    source = (await call(plans.get_recall_plan, {"OutagePlanId": "PLAN1"}))["RecallPlanEntries"]
    assert payload["RecallPlanEntries"] == source


async def test_a_clone_onto_the_same_days_of_the_same_duid_overlaps(plans: RecallPlans) -> None:
    """A clone is a plan like any other: unchanged on the same DUID it overlaps its source."""
    await call(plans.submit_recall_plan, sample_plan("GEN1", "DUID1"))
    data = await call(
        plans.submit_recall_plan, {"OutagePlanId": "COPY", "DUID": "DUID1", "ClonedFromOutagePlanId": "PLAN1"}
    )
    assert [(e["EntryNumber"], e["EntryField"]) for e in data["Errors"]] == [(0, "RecallPlanEntries")]


async def test_a_clone_needs_a_source_of_ones_own(plans: RecallPlans) -> None:
    """Cloning a plan that does not exist, or another generator's, is refused at the clone fields."""
    missing = await call(
        plans.submit_recall_plan, {"OutagePlanId": "COPY", "DUID": "DUID1", "ClonedFromOutagePlanId": "NONE"}
    )
    assert missing["Errors"][0]["EntryField"] == "ClonedFromOutagePlanId"
    theirs = {"OutagePlanId": "COPY", "DUID": "DUID1", "ClonedFromOutagePlanId": "X", "ClonedFromDUID": "DUID3"}
    assert (await call(plans.submit_recall_plan, theirs))["Errors"][0]["EntryField"] == "ClonedFromDUID"


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["A", "B", "C"]),
        ({"DUID": "DUID2"}, ["C"]),
        ({"StationId": "STATION1"}, ["A", "B"]),
        ({"OutagePlanId": "B"}, ["B"]),
        ({"StartDate": "2026-08-01", "EndDate": "2026-08-05"}, ["B"]),
        ({"StartDate": "2026-07-14"}, ["A", "B"]),
        ({"StartDate": "2026-07-15"}, ["B"]),
        ({"EndDate": "2026-07-01"}, ["A", "C"]),
        ({"ParticipantId": "GEN1"}, ["A", "B", "C"]),
    ],
)
async def test_lists_filter_by_station_duid_dates_and_plan(
    plans: RecallPlans, filters: dict[str, str], expected: list[str]
) -> None:
    """listRecallPlans narrows by StationId, DUID, OutagePlanId and days meeting StartDate..EndDate."""
    await call(plans.submit_recall_plan, sample_plan("GEN1", "DUID1", plan_id="A", start="2026-07-01"))
    await call(plans.submit_recall_plan, sample_plan("GEN1", "DUID1", plan_id="B", start="2026-08-01"))
    await call(plans.submit_recall_plan, sample_plan("GEN1", "DUID2", plan_id="C", start="2026-06-20", mw=50.0))
    data = await call(plans.list_recall_plans, filters)
    assert sorted(p["OutagePlanId"] for p in data["RecallPlans"]) == expected
    item = data["RecallPlans"][0]
    assert set(item) >= {
        "OutagePlanId",
        "OutagePlanDescription",
        "DUID",
        "MinStartDate",
        "MaxEndDate",
        "VersionDateTime",
    }


async def test_generators_see_only_their_own_plans_and_the_operator_sees_all(plans: RecallPlans) -> None:
    """A generator lists and gets its own DUIDs' plans only; the operator reads every plan."""
    await call(plans.submit_recall_plan, sample_plan("GEN1", "DUID1"))
    await call(plans.submit_recall_plan, sample_plan("GEN2", "DUID3", plan_id="THEIRS"), caller="GEN2")
    mine = await call(plans.list_recall_plans, {})
    assert [p["OutagePlanId"] for p in mine["RecallPlans"]] == ["PLAN1"]
    hidden = await call(plans.get_recall_plan, {"OutagePlanId": "THEIRS", "DUID": "DUID3"})
    assert hidden["SuccessFlag"] is False
    every = await call(plans.list_recall_plans, {}, caller="OPERATOR", roles=OPERATOR)
    assert sorted(p["OutagePlanId"] for p in every["RecallPlans"]) == ["PLAN1", "THEIRS"]
    theirs = await call(plans.get_recall_plan, {"OutagePlanId": "THEIRS"}, caller="OPERATOR", roles=OPERATOR)
    assert theirs["SuccessFlag"] is True and theirs["DUID"] == "DUID3"


async def test_the_flags_are_listed(plans: RecallPlans) -> None:
    """getRecallFlags lists NRL, UNC and IFO with their descriptions."""
    data = await call(plans.get_recall_flags, {}, roles=frozenset())
    assert [f["RecallFlagId"] for f in data["RecallFlags"]] == ["NRL", "UNC", "IFO"]


async def test_acting_for_another_participant_is_refused(plans: RecallPlans) -> None:
    """A ParticipantId other than the token's is a 403, not a rule."""
    with pytest.raises(OperationRefusedError):
        await call(plans.submit_recall_plan, sample_plan("GEN2", "DUID1"))
    with pytest.raises(OperationRefusedError):
        await call(plans.list_recall_plans, {"ParticipantId": "GEN2"})


async def test_only_generators_submit(plans: RecallPlans) -> None:
    """A participant without the GENERATOR role may not submit recall plans."""
    with pytest.raises(OperationRefusedError):
        await call(plans.submit_recall_plan, sample_plan("OPERATOR", "DUID1"), caller="OPERATOR", roles=OPERATOR)


@pytest.mark.parametrize("body", [b"{", b"[1, 2]", b'"plan"'])
async def test_a_body_that_is_not_a_json_object_is_malformed(plans: RecallPlans, body: bytes) -> None:
    """Not JSON, or JSON but not an object: 400, not a SuccessFlag."""
    with pytest.raises(MalformedBodyError):
        await plans.submit_recall_plan(Call("GEN1", GEN1, body))
