"""The recall plan rules of AEMO's Generator Recall Plan interface (its section 2.1), each broken rule its own error.

Pure functions of the submission, the DUID's standing data and the DUID's other plans: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from itertools import pairwise

from exchange.functions.protocol import GeneratingUnitInfo
from exchange.functions.recall.domain import RecallBook
from exchange.functions.recall.request import Entry, PlanSubmission, RecallError, Stage

# About two years; the seed's upper bound on any recall time.
MAX_RECALL_MINUTES = 1_051_200
RECALL_FLAGS: dict[str, str] = {
    "NRL": "No recall",
    "UNC": "Uncertain",
    "IFO": "Indefinite without further outage",
}


def owner_errors(duid: str, caller: str, unit: GeneratingUnitInfo | None, today: date) -> list[RecallError]:
    """Only the DUID's registered owner, now (on `today`, the market day of the request), may submit or see its
    plans (AEMO's Generator Recall Plan interface §2.1); an unknown DUID reads the same."""
    if unit is None or unit.owner_on(today) != caller:
        return [RecallError(0, "DUID", f"DUID {duid} is not registered to {caller}")]
    return []


def entry_errors(entries: Sequence[Entry], max_capacity_mw: float) -> Iterator[RecallError]:
    """The rules each entry must keep on its own: quantities, capacity, recall times, flags, stage order."""
    for entry in entries:
        if entry.start is not None and entry.end is not None and entry.end < entry.start:
            yield RecallError(entry.number, "EndDate", f"EndDate {entry.end} is before StartDate {entry.start}")
        for number, stage in ((1, entry.stage1), (2, entry.stage2)):
            if stage is not None:
                yield from _stage_errors(entry.number, number, stage, max_capacity_mw)
        if entry.stage2 is not None:
            yield from _stage_order_errors(entry.number, entry.stage1, entry.stage2)


def contiguity_errors(entries: Sequence[Entry]) -> Iterator[RecallError]:
    """Entries, taken by StartDate, must follow one another day by day: no gaps, no overlaps."""
    dated = sorted(
        (e for e in entries if e.start is not None and e.end is not None and e.start <= e.end),
        key=lambda e: (e.start, e.number),
    )
    for previous, entry in pairwise(dated):
        assert previous.end is not None and entry.start is not None
        expected = previous.end + timedelta(days=1)
        if entry.start < expected:
            yield RecallError(
                entry.number,
                "StartDate",
                f"entry {entry.number} ({entry.start}) overlaps entry {previous.number}, which ends {previous.end}",
            )
        elif entry.start > expected:
            yield RecallError(
                entry.number,
                "StartDate",
                f"entry {entry.number} starts {entry.start}, leaving a gap after entry {previous.number}, "
                f"which ends {previous.end}; it must start {expected}",
            )


def span(entries: Sequence[Entry]) -> tuple[date, date] | None:
    """The plan's first and last day, when every entry's days could be read."""
    starts = [e.start for e in entries]
    ends = [e.end for e in entries]
    if not entries or None in starts or None in ends:
        return None
    return min(s for s in starts if s is not None), max(e for e in ends if e is not None)


def overlap_errors(plan_id: str, entries: Sequence[Entry], book: RecallBook | None) -> list[RecallError]:
    """A DUID's plans in force may not share a day."""
    days = span(entries)
    if book is None or days is None:
        return []
    return [
        RecallError(
            0,
            "RecallPlanEntries",
            f"{days[0]} to {days[1]} overlaps recall plan {other} of DUID {book.duid} ({start} to {end})",
        )
        for other, start, end in book.overlapping(plan_id, *days)
    ]


def plan_errors(
    submission: PlanSubmission,
    entries: Sequence[Entry],
    caller: str,
    unit: GeneratingUnitInfo | None,
    book: RecallBook | None,
    today: date,
) -> list[RecallError]:
    """Every broken rule of a plan with at least one entry, once its fields could be read."""
    assert submission.duid is not None and submission.plan_id is not None
    refused = owner_errors(submission.duid, caller, unit, today)
    if refused or unit is None:
        # Nothing more about another generator's DUID: not its capacity, not its plans.
        return refused
    return [
        *overlap_errors(submission.plan_id, entries, book),
        *entry_errors(entries, unit.max_capacity_mw),
        *contiguity_errors(entries),
    ]


def _stage_errors(entry: int, stage: int, values: Stage, max_capacity_mw: float) -> Iterator[RecallError]:
    prefix = f"Stage{stage}"
    for field, value in (
        (f"{prefix}RecallMinutesStart", values.minutes_start),
        (f"{prefix}RecallMinutesEnd", values.minutes_end),
    ):
        if value is None:
            continue
        if value <= 0:
            yield RecallError(entry, field, f"{field} must be greater than zero, not {value:g}")
        elif value > MAX_RECALL_MINUTES:
            yield RecallError(entry, field, f"{field} {value:g} exceeds {MAX_RECALL_MINUTES} minutes")
    field = f"{prefix}MW"
    if values.mw is not None:
        if values.mw <= 0:
            yield RecallError(entry, field, f"{field} must be greater than zero, not {values.mw:g}")
        elif values.mw > max_capacity_mw:
            yield RecallError(
                entry, field, f"{field} {values.mw:g} exceeds the DUID's maximum capacity {max_capacity_mw:g} MW"
            )
    if values.flag is not None and values.flag not in RECALL_FLAGS:
        field = f"{prefix}RecallFlag"
        yield RecallError(entry, field, f"{field} {values.flag!r} is not one of {', '.join(RECALL_FLAGS)}")


def _stage_order_errors(entry: int, stage1: Stage, stage2: Stage) -> Iterator[RecallError]:
    """Stage 1 restores less capacity sooner: each of its quantities is below the same one of stage 2."""
    for name, first, second in (
        ("RecallMinutesStart", stage1.minutes_start, stage2.minutes_start),
        ("RecallMinutesEnd", stage1.minutes_end, stage2.minutes_end),
        ("MW", stage1.mw, stage2.mw),
    ):
        if first is not None and second is not None and not first < second:
            yield RecallError(
                entry, f"Stage1{name}", f"Stage1{name} {first:g} must be less than Stage2{name} {second:g}"
            )
