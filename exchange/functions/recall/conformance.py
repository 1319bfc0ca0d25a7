"""The recall plans' sample for the conformance suite: plans posted to `submitRecallPlan`, refusals as `Errors`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import msgspec

from exchange.domain.markettime import market_day
from exchange.functions.conformance import ConformanceSample, Parties
from exchange.functions.protocol import StandingData
from exchange.functions.recall.request import RecallError, plan_json, read_plan
from exchange.functions.recall.rules import plan_errors
from exchange.functions.recall.sample import sample_body


def _path(error: RecallError) -> str:
    if error.entry_number == 0:
        return error.entry_field
    return f"RecallPlanEntries[{error.entry_number - 1}].{error.entry_field}"


def _refused(parties: Parties, body: bytes, standing: StandingData) -> list[str]:
    submission, errors = read_plan(json.loads(body))
    if not errors and submission.entries:
        unit = standing.generating_unit(parties.duid)
        # The suite's DUIDs never change owner, so any day reads the same owner.
        today = market_day(datetime.now(UTC))
        errors = plan_errors(submission, submission.entries, parties.sender, unit, None, today)
    return [_path(error) for error in errors]


def _malformed(parties: Parties) -> tuple[bytes, str]:
    plan = json.loads(sample_body(parties.sender, parties.duid))
    plan["RecallPlanEntries"][1]["Stage1MW"] = "lots"
    return msgspec.json.encode(plan), "RecallPlanEntries[1].Stage1MW"


def _http_refused(status: int, body: Any) -> list[str]:
    # The web services answer a refused plan 200 with `SuccessFlag: false` and an `Errors` item per problem.
    data = body.get("data", {}) if status == 200 else {}
    if data.get("SuccessFlag") is not False:
        return []
    return [_path(RecallError(e["EntryNumber"], e["EntryField"], e["ErrorMessage"])) for e in data["Errors"]]


def _http_accepted(status: int, body: Any) -> bool:
    return status == 200 and body["data"]["SuccessFlag"] is True


def conformance_sample(submit_path: str) -> ConformanceSample:
    return ConformanceSample(
        body=lambda parties: sample_body(parties.sender, parties.duid),
        round_trip=lambda parties, body, standing: plan_json(read_plan(json.loads(body))[0]),
        malformed=_malformed,
        refused_fields=_refused,
        submit_path=submit_path,
        needs_generating_unit=True,
        http_refused_fields=_http_refused,
        http_accepted=_http_accepted,
    )
