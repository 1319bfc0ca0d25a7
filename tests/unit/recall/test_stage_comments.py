"""Stage1Comment and Stage2Comment (the recall interface §3.3d): up to 60 characters, kept, refused beyond."""

from __future__ import annotations

from typing import Any

import msgspec

from exchange.functions.recall.sample import sample_plan
from exchange.functions.recall.service import RecallPlans
from exchange.functions.services import Call

GENERATOR = frozenset({"GENERATOR"})


async def submit(plans: RecallPlans, plan: dict[str, Any]) -> dict[str, Any]:
    answer = await plans.submit_recall_plan(Call("GEN1", GENERATOR, msgspec.json.encode(plan)))
    assert answer.status == 200
    data: dict[str, Any] = answer.body["data"]
    return data


async def test_comments_of_60_characters_are_kept_and_shown(plans: RecallPlans) -> None:
    """Both stages' comments at the limit are accepted and read back by getRecallPlan."""
    plan = sample_plan("GEN1", "DUID1")
    plan["RecallPlanEntries"][1].update(Stage1Comment="a" * 60, Stage2Comment="é" * 60)
    assert (await submit(plans, plan))["SuccessFlag"] is True
    found = await plans.get_recall_plan(Call("GEN1", GENERATOR, b'{"DUID": "DUID1", "OutagePlanId": "PLAN1"}'))
    entry = found.body["data"]["RecallPlanEntries"][1]
    assert (entry["Stage1Comment"], entry["Stage2Comment"]) == ("a" * 60, "é" * 60)


async def test_a_comment_of_61_characters_is_refused_at_its_entry_and_field(plans: RecallPlans) -> None:
    """SuccessFlag false with an Errors item naming the entry, the field and the limit; nothing is stored."""
    plan = sample_plan("GEN1", "DUID1")
    plan["RecallPlanEntries"][1]["Stage2Comment"] = "x" * 61
    data = await submit(plans, plan)
    assert data["SuccessFlag"] is False
    assert data["Errors"] == [
        {"ErrorMessage": "Stage2Comment must be at most 60 characters, not 61", "EntryNumber": 2,
         "EntryField": "Stage2Comment"}
    ]  # fmt: skip
    found = await plans.get_recall_plan(Call("GEN1", GENERATOR, b'{"DUID": "DUID1", "OutagePlanId": "PLAN1"}'))
    assert found.body["data"]["SuccessFlag"] is False


async def test_a_comment_that_is_not_text_is_refused(plans: RecallPlans) -> None:
    """A number where a comment goes is named like any other field of the wrong type."""
    plan = sample_plan("GEN1", "DUID1")
    plan["RecallPlanEntries"][0]["Stage1Comment"] = 42
    data = await submit(plans, plan)
    assert data["Errors"] == [
        {"ErrorMessage": "Stage1Comment must be a string", "EntryNumber": 1, "EntryField": "Stage1Comment"}
    ]
