"""The four Generator Recall web services, on the exchange's event store, clock and queues.

Every accepted submission is a new immutable version of its plan, committed together with the message that
carries it to the operator's queue (business function `gr`, resource `recall`), so the transaction log holds
every version. A plan is keyed by its DUID and OutagePlanId: whoever owns the DUID now sees and changes its plans.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from exchange.domain import markettime
from exchange.domain.markettime import market_timestamp
from exchange.functions.base import OPERATOR, BoundOperations, commit_retrying, require_role, to_operator
from exchange.functions.errors import OperationRefusedError
from exchange.functions.protocol import GeneratingUnitInfo
from exchange.functions.recall.domain import PlanVersion, RecallBook, RecallPlan
from exchange.functions.recall.request import (
    Entry,
    PlanSubmission,
    RecallError,
    decode_object,
    entries_from_json,
    entry_json,
    market_day,
    read_plan,
)
from exchange.functions.recall.rules import RECALL_FLAGS, owner_errors, plan_errors, span
from exchange.functions.services import Answer, Call

MESSAGE_TYPE = "RecallPlan"


def answer(**data: Any) -> Answer:
    return Answer({"data": data})


def refusal(errors: list[RecallError], **data: Any) -> Answer:
    return answer(SuccessFlag=False, **data, Errors=[error.to_json() for error in errors])


class RecallPlans(BoundOperations):
    """The web services of `/ws/GeneratorRecall/1.0`, bound to the services the core lends."""

    async def submit_recall_plan(self, call: Call) -> Answer:
        """Create a plan, or a new version of one: modify, clone (ClonedFromOutagePlanId) or delete (no entries)."""
        require_role(call, "GENERATOR", "only a generator submits recall plans")
        body = decode_object(call.body)
        submission, errors = read_plan(body)
        _check_acting_for(call, submission.participant_id)
        if errors:
            return refusal(errors, VersionDateTime=None)
        submitted = await commit_retrying(lambda: self._submit(call.participant_id, submission, body))
        if submitted is not None:
            return submitted
        busy = RecallError(0, "DUID", f"the plans of DUID {submission.duid} are changing; submit again")
        return refusal([busy], VersionDateTime=None)

    async def list_recall_plans(self, call: Call) -> Answer:
        """Summaries of the plans in force that the caller may see, narrowed by the request's filters."""
        operator, body, errors, filters = _read_query(call)
        if errors:
            return refusal(errors, RecallPlans=[])
        start, end = market_day(body.get("StartDate")), market_day(body.get("EndDate"))
        plans, today = [], self._today()
        for book, unit in await self._visible_books(call.participant_id, operator, filters.get("DUID")):
            if filters.get("ParticipantId") not in (None, unit.owner_on(today)):
                continue
            if filters.get("StationId") not in (None, unit.station_id):
                continue
            for plan_id, summary in book.plans.items():
                if filters.get("OutagePlanId") not in (None, plan_id):
                    continue
                if end is not None and summary["MinStartDate"] > end.isoformat():
                    continue
                if start is not None and summary["MaxEndDate"] < start.isoformat():
                    continue
                plans.append({"OutagePlanId": plan_id, "DUID": book.duid, "StationId": unit.station_id, **summary})
        plans.sort(key=lambda p: (p["DUID"], p["MinStartDate"], p["OutagePlanId"]))
        return answer(SuccessFlag=True, RecallPlans=plans, Errors=[])

    async def get_recall_plan(self, call: Call) -> Answer:
        """The latest version of one plan the caller may see."""
        operator, _, errors, filters = _read_query(call)
        plan_id = filters.get("OutagePlanId")
        if plan_id is None:
            errors.append(RecallError(0, "OutagePlanId", "OutagePlanId is required"))
        if errors or plan_id is None:
            return refusal(errors)
        books = await self._visible_books(call.participant_id, operator, filters.get("DUID"))
        holding = [book for book, _ in books if plan_id in book.plans]
        if len(holding) > 1:
            duids = ", ".join(book.duid for book in holding)
            return refusal([RecallError(0, "DUID", f"recall plan {plan_id} exists for DUIDs {duids}; name one")])
        plan = (
            await self._services.find(RecallPlan, RecallPlan.create_id(holding[0].duid, plan_id)) if holding else None
        )
        if plan is None or plan.deleted:
            return refusal([RecallError(0, "OutagePlanId", f"there is no recall plan {plan_id} of yours")])
        return answer(SuccessFlag=True, **_shown(plan.latest), Errors=[])

    async def get_recall_flags(self, call: Call) -> Answer:
        """The recall flags the interface supports (any valid token)."""
        flags = [{"RecallFlagId": flag, "RecallFlagDescription": text} for flag, text in RECALL_FLAGS.items()]
        return answer(SuccessFlag=True, RecallFlags=flags, Errors=[])

    async def _submit(self, caller: str, submission: PlanSubmission, body: dict[str, Any]) -> Answer:
        assert submission.duid is not None and submission.plan_id is not None
        duid, plan_id = submission.duid, submission.plan_id
        unit = await self._unit(duid)
        today = self._today()
        refused = owner_errors(duid, caller, unit, today)
        if refused or unit is None:
            return refusal(refused, VersionDateTime=None)
        plan = await self._services.find(RecallPlan, RecallPlan.create_id(duid, plan_id))
        book = await self._services.find(RecallBook, RecallBook.create_id(duid))
        action = "Created" if plan is None or plan.deleted else "Modified"
        entries = submission.entries
        cloned_from = None
        if submission.cloned_from is not None:
            source, errors = await self._clone_source(caller, duid, submission, body)
            if errors or source is None:
                return refusal(errors, VersionDateTime=None)
            if action == "Modified":
                taken = RecallError(0, "OutagePlanId", f"recall plan {plan_id} exists; a clone needs a new id")
                return refusal([taken], VersionDateTime=None)
            action, cloned_from = "Cloned", {"OutagePlanId": source.plan_id, "DUID": source.duid}
            if entries is None:
                entries = entries_from_json(source.latest["RecallPlanEntries"])
        assert entries is not None  # read_plan insists on entries unless the plan is a clone
        if not entries:
            if plan is None or plan.deleted:
                gone = RecallError(
                    0, "RecallPlanEntries", f"there is no recall plan {plan_id} of DUID {duid} to delete"
                )
                return refusal([gone], VersionDateTime=None)
            action = "Deleted"
        else:
            errors = plan_errors(submission, entries, caller, unit, book, today)
            if errors:
                return refusal(errors, VersionDateTime=None)
        version_date_time = market_timestamp(self._services.now())
        version: PlanVersion = {
            "ParticipantId": caller,
            "OutagePlanId": plan_id,
            "OutagePlanDescription": submission.description,
            "DUID": duid,
            "StationId": unit.station_id,
            "Version": 1 if plan is None else plan.next_version,
            "VersionDateTime": version_date_time,
            "Action": action,
            "ClonedFrom": cloned_from,
            "Deleted": action == "Deleted",
            "RecallPlanEntries": [entry_json(entry) for entry in entries],
        }
        if plan is None:
            plan = RecallPlan(duid, plan_id, version)
        else:
            plan.revise(version)
        book = book or RecallBook(duid)
        if action == "Deleted":
            book.remove(plan_id)
        else:
            book.record(plan_id, _summary(version, entries))
        await self._services.deliver(to_operator("gr", "recall", caller, "Medium", MESSAGE_TYPE, version), plan, book)
        return answer(SuccessFlag=True, VersionDateTime=version_date_time, Version=version["Version"], Errors=[])

    async def _clone_source(
        self, caller: str, duid: str, submission: PlanSubmission, body: dict[str, Any]
    ) -> tuple[RecallPlan | None, list[RecallError]]:
        assert submission.cloned_from is not None
        source_duid = body.get("ClonedFromDUID") or duid
        if not isinstance(source_duid, str):
            return None, [RecallError(0, "ClonedFromDUID", "ClonedFromDUID must be a string")]
        refused = owner_errors(source_duid, caller, await self._unit(source_duid), self._today())
        if refused:
            return None, [RecallError(0, "ClonedFromDUID", refused[0].message)]
        source = await self._services.find(RecallPlan, RecallPlan.create_id(source_duid, submission.cloned_from))
        if source is None or source.deleted:
            missing = f"there is no recall plan {submission.cloned_from} of DUID {source_duid} to clone"
            return None, [RecallError(0, "ClonedFromOutagePlanId", missing)]
        return source, []

    def _today(self) -> date:
        """The market day of the request: a DUID's plans belong to whoever owns it on this day."""
        return markettime.market_day(self._services.now())

    async def _visible_books(
        self, caller: str, operator: bool, duid: str | None
    ) -> list[tuple[RecallBook, GeneratingUnitInfo]]:
        """Books of the DUIDs the caller may read (the operator: all), each with its DUID's standing data."""
        if duid is not None:
            ids = [RecallBook.create_id(duid)]
        else:
            ids = await self._services.created(RecallBook, "Opened")
        visible, today = [], self._today()
        for book_id in ids:
            book = await self._services.find(RecallBook, book_id)
            if book is None:
                continue
            unit = await self._unit(book.duid)
            if unit is not None and (operator or unit.owner_on(today) == caller):
                visible.append((book, unit))
        return visible


def _check_acting_for(call: Call, participant_id: str | None) -> None:
    if participant_id is not None and participant_id != call.participant_id:
        raise OperationRefusedError(f"the token acts for {call.participant_id}, not for {participant_id}")


def _check_reader(call: Call) -> bool:
    """True for the operator (reads every plan); a generator reads its own; anyone else is refused."""
    if OPERATOR in call.roles:
        return True
    if "GENERATOR" not in call.roles:
        raise OperationRefusedError("only generators and the operator read recall plans")
    return False


def _read_query(call: Call) -> tuple[bool, dict[str, Any], list[RecallError], dict[str, str]]:
    """Whether the caller is the operator, and the body, errors and filters of a list or get request."""
    operator = _check_reader(call)
    body = decode_object(call.body)
    errors, filters = _list_filters(body)
    if not operator:
        _check_acting_for(call, filters.get("ParticipantId"))
    return operator, body, errors, filters


def _list_filters(body: dict[str, Any]) -> tuple[list[RecallError], dict[str, str]]:
    errors, filters = [], {}
    for field in ("ParticipantId", "StationId", "DUID", "OutagePlanId"):
        value = body.get(field)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            errors.append(RecallError(0, field, f"{field} must be a string"))
        else:
            filters[field] = value
    for field in ("StartDate", "EndDate"):
        if body.get(field) not in (None, "") and market_day(body.get(field)) is None:
            errors.append(RecallError(0, field, f"{field} must be a date (YYYY-MM-DD) or an ISO 8601 date-time"))
    return errors, filters


def _summary(version: PlanVersion, entries: list[Entry]) -> dict[str, Any]:
    days = span(entries)
    assert days is not None  # the rules passed, so every entry's days were read
    return {
        "OutagePlanDescription": version["OutagePlanDescription"],
        "MinStartDate": days[0].isoformat(),
        "MaxEndDate": days[1].isoformat(),
        "VersionDateTime": version["VersionDateTime"],
        "Version": version["Version"],
    }


def _shown(version: PlanVersion) -> dict[str, Any]:
    keys = ("OutagePlanId", "OutagePlanDescription", "DUID", "StationId", "Version", "VersionDateTime")
    return {**{key: version[key] for key in keys}, "RecallPlanEntries": version["RecallPlanEntries"]}
