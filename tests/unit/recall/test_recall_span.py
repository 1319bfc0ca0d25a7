"""A recall plan's span (its first and last day) and the boundaries of overlap between a DUID's plans."""

from __future__ import annotations

from datetime import date

import pytest

from exchange.functions.recall.domain import RecallBook
from exchange.functions.recall.request import Entry, Stage
from exchange.functions.recall.rules import overlap_errors, span

STAGE = Stage(minutes_start=10, minutes_end=20, mw=100.0, flag=None)


def entry(number: int, start: str | None, end: str | None) -> Entry:
    return Entry(
        number,
        date.fromisoformat(start) if start else None,
        date.fromisoformat(end) if end else None,
        STAGE,
        None,
    )


def test_the_span_runs_from_the_earliest_start_to_the_latest_end_whatever_the_order() -> None:
    """Entries may come in any order: the span is min(StartDate)..max(EndDate), not first start..last end."""
    entries = [entry(1, "2026-07-08", "2026-07-14"), entry(2, "2026-07-01", "2026-07-07")]
    assert span(entries) == (date(2026, 7, 1), date(2026, 7, 14))


def test_the_span_takes_the_latest_end_even_from_an_entry_in_the_middle() -> None:
    """An entry listed first may end last, and one listed last may start first."""
    entries = [
        entry(1, "2026-07-15", "2026-07-31"),
        entry(2, "2026-07-08", "2026-07-14"),
        entry(3, "2026-07-01", "2026-07-07"),
    ]
    assert span(entries) == (date(2026, 7, 1), date(2026, 7, 31))


def test_a_single_entry_spans_its_own_days() -> None:
    assert span([entry(1, "2026-07-03", "2026-07-03")]) == (date(2026, 7, 3), date(2026, 7, 3))


@pytest.mark.parametrize(
    "entries",
    [[], [entry(1, None, "2026-07-07")], [entry(1, "2026-07-01", "2026-07-07"), entry(2, "2026-07-08", None)]],
    ids=["no-entries", "no-start", "no-end"],
)
def test_no_span_when_a_day_could_not_be_read(entries: list[Entry]) -> None:
    assert span(entries) is None


def book_with(start: str, end: str) -> RecallBook:
    book = RecallBook("DUID1")
    book.record("OTHER", {"MinStartDate": start, "MaxEndDate": end})
    return book


@pytest.mark.parametrize(
    ("start", "end", "overlaps"),
    [
        ("2026-07-01", "2026-07-10", True),  # ends the day the other starts: one shared day
        ("2026-07-20", "2026-07-31", True),  # starts the day the other ends: one shared day
        ("2026-07-12", "2026-07-18", True),  # inside
        ("2026-07-01", "2026-07-31", True),  # around
        ("2026-07-01", "2026-07-09", False),  # ends the day before the other starts
        ("2026-07-21", "2026-07-31", False),  # starts the day after the other ends
    ],
)
def test_plans_overlap_when_they_share_a_day_and_only_then(start: str, end: str, overlaps: bool) -> None:
    """Days are inclusive at both ends: sharing the first or the last day of another plan is an overlap."""
    book = book_with("2026-07-10", "2026-07-20")
    errors = overlap_errors("NEW", [entry(1, start, end)], book)
    if overlaps:
        assert [(e.entry_number, e.entry_field) for e in errors] == [(0, "RecallPlanEntries")]
        assert errors[0].message == (
            f"{start} to {end} overlaps recall plan OTHER of DUID DUID1 (2026-07-10 to 2026-07-20)"
        )
    else:
        assert errors == []
    assert bool(book.overlapping("NEW", date.fromisoformat(start), date.fromisoformat(end))) is overlaps


def test_the_overlap_is_judged_on_the_span_of_entries_in_any_order() -> None:
    """Only the earlier-listed entry meets the other plan; the span from min and max still finds it."""
    book = book_with("2026-07-01", "2026-07-05")
    entries = [entry(1, "2026-07-13", "2026-07-20"), entry(2, "2026-07-05", "2026-07-12")]
    errors = overlap_errors("NEW", entries, book)
    assert [e.message for e in errors] == [
        "2026-07-05 to 2026-07-20 overlaps recall plan OTHER of DUID DUID1 (2026-07-01 to 2026-07-05)"
    ]


def test_a_plan_never_overlaps_itself_and_without_a_book_there_is_nothing_to_overlap() -> None:
    book = book_with("2026-07-10", "2026-07-20")
    assert overlap_errors("OTHER", [entry(1, "2026-07-10", "2026-07-20")], book) == []
    assert overlap_errors("NEW", [entry(1, "2026-07-10", "2026-07-20")], None) == []
