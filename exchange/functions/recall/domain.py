"""Recall plans as aggregates: each plan a list of immutable versions, each DUID a book of its plans' spans.

A version is kept as the JSON-able dictionary that is also the message delivered to the operator, so what the
operator received and what the plan remembers can never drift apart. The book exists so that two submissions
for one DUID at once conflict in the event store instead of both passing the "no overlapping plans" rule.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = UUID("0c1e8f0e-7d52-4b7e-9b3a-5a7f1f4b8a21")

PlanVersion = dict[str, Any]


class RecallPlan(Aggregate):
    """One outage recall plan of one DUID, as every version it ever had (the last one is in force)."""

    @staticmethod
    def create_id(duid: str, plan_id: str) -> UUID:
        return uuid5(NAMESPACE, f"recall-plan:{duid}:{plan_id}")

    @event("Submitted")
    def __init__(self, duid: str, plan_id: str, version: PlanVersion) -> None:
        self.duid = duid
        self.plan_id = plan_id
        self.versions: list[PlanVersion] = [version]

    @event("Revised")
    def revise(self, version: PlanVersion) -> None:
        """A modification, a deletion (a version without entries) or a new start after a deletion."""
        self.versions = [*self.versions, version]

    @property
    def latest(self) -> PlanVersion:
        return self.versions[-1]

    @property
    def deleted(self) -> bool:
        return bool(self.latest["Deleted"])

    @property
    def next_version(self) -> int:
        return len(self.versions) + 1


class RecallBook(Aggregate):
    """The plans of one DUID in force, each with its span of days: the consistency boundary for overlaps."""

    @staticmethod
    def create_id(duid: str) -> UUID:
        return uuid5(NAMESPACE, f"recall-book:{duid}")

    @event("Opened")
    def __init__(self, duid: str) -> None:
        self.duid = duid
        # Per plan id: OutagePlanDescription, MinStartDate, MaxEndDate (ISO dates), VersionDateTime, Version.
        self.plans: dict[str, dict[str, Any]] = {}

    @event("PlanRecorded")
    def record(self, plan_id: str, summary: dict[str, Any]) -> None:
        self.plans = {**self.plans, plan_id: summary}

    @event("PlanRemoved")
    def remove(self, plan_id: str) -> None:
        self.plans = {key: value for key, value in self.plans.items() if key != plan_id}

    def overlapping(self, plan_id: str, start: date, end: date) -> list[tuple[str, date, date]]:
        """Other plans in force whose days meet `start`..`end` (inclusive)."""
        found = []
        for other_id, summary in sorted(self.plans.items()):
            other_start = date.fromisoformat(summary["MinStartDate"])
            other_end = date.fromisoformat(summary["MaxEndDate"])
            if other_id != plan_id and other_start <= end and start <= other_end:
                found.append((other_id, other_start, other_end))
        return found
