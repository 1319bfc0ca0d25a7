"""Valid recall plans (SubmitRecallPlan bodies) for tests, the README and the simulators."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import msgspec


def sample_entry(start: str, days: int = 7, *, mw: float = 100.0, minutes: float = 240.0) -> dict[str, Any]:
    """One entry of `days` days from `start`: stage 1 restores `mw` in `minutes`, stage 2 twice as much later."""
    end = date.fromisoformat(start) + timedelta(days=days - 1)
    return {
        "StartDate": start,
        "EndDate": end.isoformat(),
        "Stage1RecallMinutesStart": minutes,
        "Stage1RecallMinutesEnd": minutes,
        "Stage1MW": mw,
        "Stage1RecallFlag": None,
        "Stage2RecallMinutesStart": minutes * 3,
        "Stage2RecallMinutesEnd": minutes * 3,
        "Stage2MW": mw * 2,
        "Stage2RecallFlag": "UNC",
        "Stage1Comment": "crew on site within the hour",
        "Stage2Comment": None,
    }


def sample_plan(
    participant_id: str,
    duid: str,
    *,
    plan_id: str = "PLAN1",
    start: str = "2026-07-01",
    entries: int = 2,
    days: int = 7,
    mw: float = 100.0,
) -> dict[str, Any]:
    """A valid plan of `entries` contiguous entries of `days` days each (fits a DUID of at least twice `mw` MW)."""
    first = date.fromisoformat(start)
    return {
        "ParticipantId": participant_id,
        "OutagePlanId": plan_id,
        "OutagePlanDescription": f"Outage recall plan {plan_id} of {duid}",
        "DUID": duid,
        "RecallPlanEntries": [
            sample_entry((first + timedelta(days=index * days)).isoformat(), days, mw=mw, minutes=240.0 - index * 60)
            for index in range(entries)
        ],
    }


def sample_body(participant_id: str, duid: str, **options: Any) -> bytes:
    """`sample_plan` as the JSON bytes of a SubmitRecallPlan request."""
    return msgspec.json.encode(sample_plan(participant_id, duid, **options))
