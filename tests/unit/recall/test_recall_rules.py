"""Each recall plan rule of the recall interface (section 2.1) broken on its own, and the Errors item that names it."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from exchange.functions.recall.domain import RecallBook
from exchange.functions.recall.request import RecallError, read_plan
from exchange.functions.recall.rules import MAX_RECALL_MINUTES, plan_errors
from exchange.functions.recall.sample import sample_entry, sample_plan
from tests.conformance.fakes import FakeStandingData


def check(
    plan: dict[str, Any], standing: FakeStandingData, caller: str = "GEN1", book: RecallBook | None = None
) -> list[RecallError]:
    """What reading and the rules say about a plan submitted by `caller`."""
    submission, errors = read_plan(plan)
    if errors:
        return errors
    assert submission.duid is not None and submission.entries is not None
    unit = standing.generating_unit(submission.duid)
    return plan_errors(submission, submission.entries, caller, unit, book, date(2026, 7, 1))


def named(errors: list[RecallError]) -> list[tuple[int, str]]:
    return [(error.entry_number, error.entry_field) for error in errors]


def with_entry(number: int, **changes: Any) -> dict[str, Any]:
    """The two-entry sample plan of DUID1 with entry `number` (from 1) changed."""
    plan = sample_plan("GEN1", "DUID1")
    plan["RecallPlanEntries"][number - 1].update(changes)
    return plan


def test_the_sample_plan_keeps_every_rule(standing: FakeStandingData) -> None:
    """The sample plan is valid for its owner: the baseline every other test breaks one rule of."""
    assert check(sample_plan("GEN1", "DUID1"), standing) == []


@pytest.mark.parametrize("duid", ["DUID3", "NOSUCH"], ids=["another-generators", "unknown"])
def test_only_the_duids_owner_may_submit(standing: FakeStandingData, duid: str) -> None:
    """A plan for another generator's (or no one's) DUID is refused with EntryNumber 0 at DUID, saying nothing more."""
    errors = check(sample_plan("GEN1", duid, mw=1000.0), standing)
    assert named(errors) == [(0, "DUID")]
    assert errors[0].message == f"DUID {duid} is not registered to GEN1"


def test_plans_of_one_duid_may_not_overlap(standing: FakeStandingData) -> None:
    """A plan whose days meet another plan in force for the DUID is refused with EntryNumber 0, naming the other."""
    book = RecallBook("DUID1")
    book.record("OTHER", {"MinStartDate": "2026-07-10", "MaxEndDate": "2026-07-20"})
    errors = check(sample_plan("GEN1", "DUID1", plan_id="NEW"), standing, book=book)
    assert named(errors) == [(0, "RecallPlanEntries")]
    assert "OTHER" in errors[0].message


def test_a_plan_does_not_overlap_its_own_earlier_version_nor_removed_plans(standing: FakeStandingData) -> None:
    """Modifying a plan is judged against the DUID's other plans only; a deleted plan no longer counts."""
    book = RecallBook("DUID1")
    book.record("PLAN1", {"MinStartDate": "2026-07-01", "MaxEndDate": "2026-07-14"})
    book.record("GONE", {"MinStartDate": "2026-07-01", "MaxEndDate": "2026-07-14"})
    book.remove("GONE")
    assert check(sample_plan("GEN1", "DUID1", plan_id="PLAN1"), standing, book=book) == []


def test_plans_of_different_duids_may_share_days(standing: FakeStandingData) -> None:
    """Overlap is judged per DUID."""
    book = RecallBook("DUID2")
    book.record("OTHER", {"MinStartDate": "2026-07-01", "MaxEndDate": "2026-07-14"})
    assert check(sample_plan("GEN1", "DUID1", plan_id="NEW"), standing, book=RecallBook("DUID1")) == []


def test_entries_must_be_contiguous(standing: FakeStandingData) -> None:
    """A day's gap between entries is refused at the later entry's StartDate."""
    errors = check(with_entry(2, StartDate="2026-07-09", EndDate="2026-07-14"), standing)
    assert named(errors) == [(2, "StartDate")]
    assert "gap" in errors[0].message and "2026-07-08" in errors[0].message


def test_entries_may_not_overlap(standing: FakeStandingData) -> None:
    """An entry starting on or before the previous EndDate is refused at its StartDate."""
    errors = check(with_entry(2, StartDate="2026-07-07"), standing)
    assert named(errors) == [(2, "StartDate")]
    assert "overlaps entry 1" in errors[0].message


def test_contiguous_entries_may_come_in_any_order(standing: FakeStandingData) -> None:
    """Entries are taken by StartDate: listing the later one first is no gap."""
    plan = sample_plan("GEN1", "DUID1")
    plan["RecallPlanEntries"].reverse()
    assert check(plan, standing) == []


def test_an_entry_may_not_end_before_it_starts(standing: FakeStandingData) -> None:
    """EndDate is inclusive and may equal StartDate, never precede it."""
    assert check(with_entry(2, StartDate="2026-07-08", EndDate="2026-07-08"), standing) == []
    assert named(check(with_entry(2, EndDate="2026-07-07"), standing)) == [(2, "EndDate")]


QUANTITIES = [
    "Stage1RecallMinutesStart",
    "Stage1RecallMinutesEnd",
    "Stage1MW",
    "Stage2RecallMinutesStart",
    "Stage2RecallMinutesEnd",
    "Stage2MW",
]


@pytest.mark.parametrize("field", QUANTITIES)
@pytest.mark.parametrize("value", [0, -5])
def test_recall_quantities_must_be_greater_than_zero(standing: FakeStandingData, field: str, value: int) -> None:
    """Every recall time and MW must be greater than zero."""
    errors = check(with_entry(1, **{field: value}), standing)
    assert (1, field) in named(errors)
    assert any("greater than zero" in e.message for e in errors if e.entry_field == field)


@pytest.mark.parametrize("field", ["Stage1MW", "Stage2MW"])
def test_recall_mw_may_not_exceed_the_duids_maximum_capacity(standing: FakeStandingData, field: str) -> None:
    """MW above the DUID's registered maximum capacity (700 MW) is refused; exactly 700 MW is not."""
    at_capacity = with_entry(1, Stage1MW=350.0, Stage2MW=700.0)
    assert check(at_capacity, standing) == []
    errors = check(with_entry(1, **{"Stage1MW": 350.0, "Stage2MW": 700.0, field: 700.5}), standing)
    assert (1, field) in named(errors)
    assert any("maximum capacity 700" in e.message for e in errors)


@pytest.mark.parametrize(
    ("field", "stage1", "stage2"),
    [
        ("MW", 200.0, 200.0),
        ("MW", 300.0, 200.0),
        ("RecallMinutesStart", 720.0, 720.0),
        ("RecallMinutesEnd", 900.0, 720.0),
    ],
    ids=["mw-equal", "mw-above", "start-minutes-equal", "end-minutes-above"],
)
def test_stage_1_quantities_must_be_less_than_stage_2(
    standing: FakeStandingData, field: str, stage1: float, stage2: float
) -> None:
    """Within an entry, each stage 1 quantity (MW, recall time at start and at end) is below stage 2's."""
    errors = check(with_entry(2, **{f"Stage1{field}": stage1, f"Stage2{field}": stage2}), standing)
    assert named(errors) == [(2, f"Stage1{field}")]
    assert "must be less than" in errors[0].message


@pytest.mark.parametrize("field", ["Stage1RecallMinutesStart", "Stage2RecallMinutesEnd"])
def test_recall_times_may_not_exceed_1051200_minutes(standing: FakeStandingData, field: str) -> None:
    """About two years is the longest recall time: 1,051,200 minutes is accepted, one more is not."""
    longest = {"Stage1RecallMinutesStart": 1000, "Stage1RecallMinutesEnd": 1000}
    longest |= {"Stage2RecallMinutesStart": MAX_RECALL_MINUTES, "Stage2RecallMinutesEnd": MAX_RECALL_MINUTES}
    assert check(with_entry(1, **longest), standing) == []
    too_long = {**longest, field: MAX_RECALL_MINUTES + 1}
    if field.startswith("Stage1"):
        too_long["Stage2RecallMinutesStart"] = MAX_RECALL_MINUTES + 2
    errors = check(with_entry(1, **too_long), standing)
    assert (1, field) in named(errors)
    assert any(f"exceeds {MAX_RECALL_MINUTES} minutes" in e.message for e in errors)


@pytest.mark.parametrize("flag", ["NRL", "UNC", "IFO"])
def test_the_recall_flags_are_nrl_unc_and_ifo(standing: FakeStandingData, flag: str) -> None:
    """Each supported flag is accepted on either stage."""
    assert check(with_entry(1, Stage1RecallFlag=flag, Stage2RecallFlag=flag), standing) == []


def test_another_flag_is_refused(standing: FakeStandingData) -> None:
    """A flag outside NRL, UNC, IFO is refused at its field."""
    assert named(check(with_entry(2, Stage2RecallFlag="XYZ"), standing)) == [(2, "Stage2RecallFlag")]


def test_a_flagged_stage_may_leave_out_its_quantities(standing: FakeStandingData) -> None:
    """Scenario 3: stage 2 "indefinite without a further outage" needs no recall time."""
    plan = with_entry(1, Stage2RecallMinutesStart=None, Stage2RecallMinutesEnd=None, Stage2RecallFlag="IFO")
    assert check(plan, standing) == []


def test_an_unflagged_stage_needs_its_quantities(standing: FakeStandingData) -> None:
    """Without a flag, each missing quantity of a stage is its own error."""
    plan = with_entry(1, Stage2RecallFlag=None, Stage2MW=None, Stage2RecallMinutesEnd=None)
    assert named(check(plan, standing)) == [(1, "Stage2RecallMinutesEnd"), (1, "Stage2MW")]


def test_stage_2_may_be_left_out_altogether(standing: FakeStandingData) -> None:
    """Up to two stages: an entry of stage 1 alone is a plan."""
    entry = {key: value for key, value in sample_entry("2026-07-01").items() if not key.startswith("Stage2")}
    plan = sample_plan("GEN1", "DUID1", entries=1)
    plan["RecallPlanEntries"] = [entry]
    assert check(plan, standing) == []


def test_every_broken_rule_is_its_own_error(standing: FakeStandingData) -> None:
    """Several broken rules in several entries: one Errors item each, numbered by entry."""
    plan = sample_plan("GEN1", "DUID1", entries=3)
    plan["RecallPlanEntries"][0].update(Stage1MW=-1, Stage2MW=900.0)
    plan["RecallPlanEntries"][2].update(StartDate="2026-07-20", EndDate="2026-07-25", Stage1RecallFlag="BAD")
    assert named(check(plan, standing)) == [
        (1, "Stage1MW"),
        (1, "Stage2MW"),
        (3, "Stage1RecallFlag"),
        (3, "StartDate"),
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"OutagePlanId": None}, [(0, "OutagePlanId")]),
        ({"OutagePlanId": "has spaces"}, [(0, "OutagePlanId")]),
        ({"OutagePlanId": "X" * 41}, [(0, "OutagePlanId")]),
        ({"DUID": 7}, [(0, "DUID")]),
        ({"RecallPlanEntries": None}, [(0, "RecallPlanEntries")]),
        ({"RecallPlanEntries": "none"}, [(0, "RecallPlanEntries")]),
    ],
    ids=[
        "no-plan-id",
        "plan-id-not-alphanumeric",
        "plan-id-too-long",
        "duid-not-text",
        "no-entries",
        "entries-not-list",
    ],
)
def test_plan_fields_that_cannot_be_read_are_named(
    standing: FakeStandingData, changes: dict[str, Any], expected: list[tuple[int, str]]
) -> None:
    """A plan-level field missing or of the wrong kind is an error with EntryNumber 0."""
    plan = sample_plan("GEN1", "DUID1") | changes
    assert named(check(plan, standing)) == expected


@pytest.mark.parametrize(
    ("field", "value"),
    [("StartDate", "1 July"), ("EndDate", None), ("Stage1MW", "100"), ("Stage2RecallMinutesStart", True)],
)
def test_entry_fields_that_cannot_be_read_are_named(standing: FakeStandingData, field: str, value: object) -> None:
    """An entry field missing or of the wrong kind is an error at that entry and field."""
    assert (2, field) in named(check(with_entry(2, **{field: value}), standing))


def test_days_are_calendar_days_of_market_time() -> None:
    """A date-time is read as its day in market time (UTC+10); a plain date as itself."""
    plan = sample_plan("GEN1", "DUID1", entries=1)
    plan["RecallPlanEntries"][0].update(StartDate="2026-06-30T14:00:00Z", EndDate="2026-07-07T23:59:00+10:00")
    submission, errors = read_plan(plan)
    assert errors == [] and submission.entries is not None
    assert (submission.entries[0].start, submission.entries[0].end) == (date(2026, 7, 1), date(2026, 7, 7))


def test_recall_mw_and_minutes_of_1e23_are_refused_naming_each(standing: FakeStandingData) -> None:
    """Huge quantities are named on their own entry fields (stage 2 being larger still, no order rule is broken)."""
    changes = {"Stage1MW": 1e23, "Stage1RecallMinutesStart": 1e23, "Stage2MW": 1e24, "Stage2RecallMinutesStart": 1e24}
    errors = named(check(with_entry(1, **changes), standing))
    assert sorted(errors) == [
        (1, "Stage1MW"),
        (1, "Stage1RecallMinutesStart"),
        (1, "Stage2MW"),
        (1, "Stage2RecallMinutesStart"),
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"OutagePlanDescription": "d" * 1001}, "OutagePlanDescription"),
        ({"DUID": "D" * 2_000_000}, "DUID"),
        ({"ParticipantId": "G" * 11}, "ParticipantId"),
        ({"ClonedFromOutagePlanId": "P" * 41}, "ClonedFromOutagePlanId"),
        ({"OutagePlanId": "PLAN1\n"}, "OutagePlanId"),
    ],
    ids=["description-1001", "duid-2-MB", "participant-id-11", "cloned-from-41", "plan-id-trailing-newline"],
)
def test_every_string_of_a_plan_is_bounded(standing: FakeStandingData, changes: dict[str, Any], field: str) -> None:
    """A string beyond its bound is one plan-level error naming it, without echoing it."""
    plan = {**sample_plan("GEN1", "DUID1"), **changes}
    errors = check(plan, standing)
    assert named(errors) == [(0, field)]
    assert len(errors[0].message) < 200


def test_a_plan_of_more_than_1000_entries_is_refused(standing: FakeStandingData) -> None:
    """RecallPlanEntries is bounded too; 1,000 contiguous entries are accepted."""
    entry = sample_plan("GEN1", "DUID1")["RecallPlanEntries"][0]
    start = date(2026, 1, 1).toordinal()
    days = [date.fromordinal(start + n).isoformat() for n in range(1001)]
    entries = [{**entry, "StartDate": day, "EndDate": day} for day in days]

    assert check({**sample_plan("GEN1", "DUID1"), "RecallPlanEntries": entries[:1000]}, standing) == []
    too_many = check({**sample_plan("GEN1", "DUID1"), "RecallPlanEntries": entries}, standing)
    assert named(too_many) == [(0, "RecallPlanEntries")]
