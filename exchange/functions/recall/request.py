"""Reading the AEMO recall-plan request bodies (PascalCase JSON) into plain values, naming what is wrong.

The web services answer a bad plan with `SuccessFlag: false` and one `Errors` item per problem, so the reader
collects every problem instead of stopping at the first: a field of the wrong type becomes an error here and a
None in the value, and the rules in `rules.py` skip what could not be read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

import msgspec

from exchange.domain.markettime import MARKET_TIME
from exchange.functions.errors import MalformedBodyError

PLAN_ID = re.compile(r"^[A-Za-z0-9]{1,40}$")
# Every string and list a plan keeps is bounded, so that no submission can store megabytes of it.
MAX_DESCRIPTION_LENGTH = 1000
MAX_DUID_LENGTH = 10  # AEMO DUIDs, as the standing data registers them
MAX_PARTICIPANT_ID_LENGTH = 10
# Daily entries for more than the two years a recall time may reach (rules.MAX_RECALL_MINUTES) with room to spare.
MAX_ENTRIES = 1000
STAGE_FIELDS = ("RecallMinutesStart", "RecallMinutesEnd", "MW")
# AEMO's Generator Recall Plan interface §3.3d: each stage of an entry may carry a comment of up to 60 characters.
MAX_COMMENT_LENGTH = 60
COMMENT_FIELDS = ("Stage1Comment", "Stage2Comment")


@dataclass(frozen=True)
class RecallError:
    """One `Errors` item: `entry_number` 0 for the plan as a whole, else the entry counted from 1."""

    entry_number: int
    entry_field: str
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"ErrorMessage": self.message, "EntryNumber": self.entry_number, "EntryField": self.entry_field}


@dataclass(frozen=True)
class Stage:
    """One stage of an entry; a quantity is None where it was left out (allowed under a flag) or unreadable."""

    minutes_start: float | None
    minutes_end: float | None
    mw: float | None
    flag: str | None


@dataclass(frozen=True)
class Entry:
    number: int
    start: date | None
    end: date | None
    stage1: Stage
    stage2: Stage | None  # None: the entry has one stage only
    # Stage1Comment and Stage2Comment; None where there is none.
    comments: tuple[str | None, str | None] = (None, None)


@dataclass(frozen=True)
class PlanSubmission:
    participant_id: str | None
    plan_id: str | None
    description: str | None
    duid: str | None
    entries: list[Entry] | None  # None: no RecallPlanEntries given (a clone copies its source's)
    cloned_from: str | None


# The request bodies as types, for the OpenAPI document: `read_plan` reads them field by field instead, so that one
# answer names every problem.


class RecallPlanEntryBody(msgspec.Struct, rename="pascal"):
    """One entry of a SubmitRecallPlan body; a stage's quantities may be left out under its recall flag."""

    start_date: str
    end_date: str
    stage1_recall_minutes_start: float | None = None
    stage1_recall_minutes_end: float | None = None
    stage1_mw: float | None = msgspec.field(default=None, name="Stage1MW")
    stage1_recall_flag: str | None = None
    stage2_recall_minutes_start: float | None = None
    stage2_recall_minutes_end: float | None = None
    stage2_mw: float | None = msgspec.field(default=None, name="Stage2MW")
    stage2_recall_flag: str | None = None
    stage1_comment: Annotated[str, msgspec.Meta(max_length=MAX_COMMENT_LENGTH)] | None = None
    stage2_comment: Annotated[str, msgspec.Meta(max_length=MAX_COMMENT_LENGTH)] | None = None


class SubmitRecallPlanBody(msgspec.Struct, rename="pascal"):
    """A SubmitRecallPlan body: RecallPlanEntries replaces the plan's entries (empty: deletes it), or is left out
    of a clone."""

    outage_plan_id: str
    duid: str = msgspec.field(name="DUID")
    participant_id: str | None = None
    outage_plan_description: str | None = None
    cloned_from_outage_plan_id: str | None = None
    recall_plan_entries: list[RecallPlanEntryBody] | None = None


class RecallPlanFilter(msgspec.Struct, rename="pascal"):
    """A ListRecallPlans or GetRecallPlan body (GetRecallPlan needs OutagePlanId)."""

    participant_id: str | None = None
    station_id: str | None = None
    duid: str | None = msgspec.field(default=None, name="DUID")
    outage_plan_id: str | None = None
    start_date: str | None = None
    end_date: str | None = None


class _Reader:
    def __init__(self) -> None:
        self.errors: list[RecallError] = []

    def fail(self, number: int, field: str, message: str) -> None:
        self.errors.append(RecallError(number, field, message))

    def text(self, body: dict[str, Any], field: str, *, required: bool, number: int = 0) -> str | None:
        value = body.get(field)
        if value is None:
            if required:
                self.fail(number, field, f"{field} is required")
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(number, field, f"{field} must be a non-blank string")
            return None
        return value

    def checked_text(
        self, body: dict[str, Any], field: str, rule: Callable[[str], bool], message: str, *, required: bool
    ) -> str | None:
        """A plan-level text field that keeps `rule`; None, with `message` against the field, when it breaks it."""
        value = self.text(body, field, required=required)
        if value is not None and not rule(value):
            self.fail(0, field, message)
            return None
        return value

    def short_text(self, body: dict[str, Any], field: str, longest: int, *, required: bool) -> str | None:
        """A plan-level text field of at most `longest` characters."""
        return self.checked_text(
            body,
            field,
            lambda value: len(value) <= longest,
            f"{field} must be at most {longest} characters",
            required=required,
        )

    def number(self, body: dict[str, Any], field: str, number: int) -> float | None:
        value = body.get(field)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.fail(number, field, f"{field} must be a number")
            return None
        return value

    def day(self, body: dict[str, Any], field: str, number: int) -> date | None:
        value = body.get(field)
        if value is None:
            self.fail(number, field, f"{field} is required")
            return None
        day = market_day(value)
        if day is None:
            self.fail(number, field, f"{field} must be a date (YYYY-MM-DD) or an ISO 8601 date-time")
        return day

    def comment(self, body: dict[str, Any], field: str, number: int) -> str | None:
        value = body.get(field)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            self.fail(number, field, f"{field} must be a string")
            return None
        if len(value) > MAX_COMMENT_LENGTH:
            self.fail(number, field, f"{field} must be at most {MAX_COMMENT_LENGTH} characters, not {len(value)}")
            return None
        return value

    def comments(self, body: dict[str, Any], number: int) -> tuple[str | None, str | None]:
        first, second = (self.comment(body, field, number) for field in COMMENT_FIELDS)
        return first, second

    def stage(self, body: dict[str, Any], stage: int, number: int) -> Stage | None:
        names = [f"Stage{stage}{name}" for name in STAGE_FIELDS]
        flag_field = f"Stage{stage}RecallFlag"
        if stage == 2 and all(body.get(name) is None for name in (*names, flag_field)):
            return None
        flag = self.text(body, flag_field, required=False, number=number)
        values = [self.number(body, name, number) for name in names]
        if body.get(flag_field) is None:
            # Without a flag (NRL, UNC, IFO) a stage needs its recall times and its MW.
            for name in names:
                if body.get(name) is None:
                    self.fail(number, name, f"{name} is required unless {flag_field} is given")
        return Stage(values[0], values[1], values[2], flag)


def market_day(value: object) -> date | None:
    """The calendar day in market time of an ISO date or date-time (a date-time without offset is market time)."""
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(MARKET_TIME)
    return moment.date()


def decode_object(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object (an empty body counts as `{}`); MalformedBodyError otherwise."""
    if not body.strip():
        return {}
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise MalformedBodyError(f"the body is not JSON: {error}") from error
    if not isinstance(decoded, dict):
        raise MalformedBodyError("the body must be a JSON object")
    return decoded


def read_plan(body: dict[str, Any]) -> tuple[PlanSubmission, list[RecallError]]:
    """A SubmitRecallPlan body as values, with every field that could not be read named."""
    reader = _Reader()
    participant_id = reader.short_text(body, "ParticipantId", MAX_PARTICIPANT_ID_LENGTH, required=False)
    plan_id = reader.checked_text(
        body, "OutagePlanId", _is_plan_id, "OutagePlanId must be 1 to 40 letters or digits", required=True
    )
    description = body.get("OutagePlanDescription")
    if description is not None and not isinstance(description, str):
        reader.fail(0, "OutagePlanDescription", "OutagePlanDescription must be a string")
        description = None
    elif description is not None and len(description) > MAX_DESCRIPTION_LENGTH:
        reader.fail(
            0, "OutagePlanDescription", f"OutagePlanDescription must be at most {MAX_DESCRIPTION_LENGTH} characters"
        )
        description = None
    duid = reader.short_text(body, "DUID", MAX_DUID_LENGTH, required=True)
    cloned_from = reader.checked_text(
        body,
        "ClonedFromOutagePlanId",
        _is_plan_id,
        "ClonedFromOutagePlanId must be 1 to 40 letters or digits",
        required=False,
    )
    raw_entries = body.get("RecallPlanEntries")
    entries: list[Entry] | None = None
    if raw_entries is None:
        if cloned_from is None:
            reader.fail(0, "RecallPlanEntries", "RecallPlanEntries is required (an empty list deletes the plan)")
    elif not isinstance(raw_entries, list):
        reader.fail(0, "RecallPlanEntries", "RecallPlanEntries must be a list")
    elif len(raw_entries) > MAX_ENTRIES:
        reader.fail(0, "RecallPlanEntries", f"RecallPlanEntries holds more than {MAX_ENTRIES} entries")
    else:
        entries = []
        for number, raw in enumerate(raw_entries, start=1):
            if not isinstance(raw, dict):
                reader.fail(number, "RecallPlanEntries", f"entry {number} must be an object")
                continue
            start, end = reader.day(raw, "StartDate", number), reader.day(raw, "EndDate", number)
            stage1 = reader.stage(raw, 1, number)
            assert stage1 is not None  # stage 1 is never left out as a whole
            stage2 = reader.stage(raw, 2, number)
            entries.append(Entry(number, start, end, stage1, stage2, reader.comments(raw, number)))
    return PlanSubmission(participant_id, plan_id, description, duid, entries, cloned_from), reader.errors


def _is_plan_id(value: str) -> bool:
    return PLAN_ID.fullmatch(value) is not None


def entry_json(entry: Entry) -> dict[str, Any]:
    """An entry as the web services show it: days as ISO dates, a left-out stage as nulls."""
    shown: dict[str, Any] = {
        "StartDate": entry.start.isoformat() if entry.start else None,
        "EndDate": entry.end.isoformat() if entry.end else None,
    }
    for number, stage in ((1, entry.stage1), (2, entry.stage2)):
        shown[f"Stage{number}RecallMinutesStart"] = stage.minutes_start if stage else None
        shown[f"Stage{number}RecallMinutesEnd"] = stage.minutes_end if stage else None
        shown[f"Stage{number}MW"] = stage.mw if stage else None
        shown[f"Stage{number}RecallFlag"] = stage.flag if stage else None
    shown["Stage1Comment"], shown["Stage2Comment"] = entry.comments
    return shown


def plan_json(submission: PlanSubmission) -> dict[str, Any]:
    """A read plan back as the SubmitRecallPlan body it came from (the schema's round trip)."""
    shown: dict[str, Any] = {
        "ParticipantId": submission.participant_id,
        "OutagePlanId": submission.plan_id,
        "OutagePlanDescription": submission.description,
        "DUID": submission.duid,
    }
    if submission.entries is not None:
        shown["RecallPlanEntries"] = [entry_json(entry) for entry in submission.entries]
    return shown


def entries_from_json(shown: list[dict[str, Any]]) -> list[Entry]:
    """Entries back from their stored form (to clone a plan)."""
    entries, errors = [], _Reader()
    for number, raw in enumerate(shown, start=1):
        entries.append(
            Entry(
                number,
                errors.day(raw, "StartDate", number),
                errors.day(raw, "EndDate", number),
                errors.stage(raw, 1, number) or Stage(None, None, None, None),
                errors.stage(raw, 2, number),
                errors.comments(raw, number),
            )
        )
    return entries
