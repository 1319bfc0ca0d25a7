"""The edges of the recall plan rules: one-day entries, the smallest quantities, and the sentence of each error."""

from __future__ import annotations

from tests.conformance.fakes import FakeStandingData
from tests.unit.recall.test_recall_rules import check, named, with_entry


def test_an_entry_ending_before_it_starts_is_named_once_and_left_out_of_the_contiguity_check(
    standing: FakeStandingData,
) -> None:
    """Its days cannot be placed, so it is reported at EndDate alone, with both dates in the sentence."""
    errors = check(with_entry(1, StartDate="2026-07-10", EndDate="2026-07-02"), standing)

    assert [(e.entry_number, e.entry_field, e.message) for e in errors] == [
        (1, "EndDate", "EndDate 2026-07-02 is before StartDate 2026-07-10")
    ]


def test_a_one_day_entry_takes_part_in_the_contiguity_check(standing: FakeStandingData) -> None:
    """An entry of one day followed by a gap is a gap, the same as a longer entry."""
    errors = check(with_entry(1, StartDate="2026-07-06", EndDate="2026-07-06"), standing)

    assert named(errors) == [(2, "StartDate")]
    assert "leaving a gap after entry 1, which ends 2026-07-06; it must start 2026-07-07" in errors[0].message


def test_the_smallest_positive_quantities_are_accepted(standing: FakeStandingData) -> None:
    """Greater than zero means one minute and half a megawatt are fine."""
    plan = with_entry(1, Stage1RecallMinutesStart=1, Stage1RecallMinutesEnd=1, Stage1MW=0.5)
    assert check(plan, standing) == []


def test_a_stage_without_its_start_time_still_has_its_end_time_checked(standing: FakeStandingData) -> None:
    """A flagged stage may leave out a recall time; the one it gives must still be greater than zero."""
    plan = with_entry(1, Stage1RecallFlag="IFO", Stage1RecallMinutesStart=None, Stage1RecallMinutesEnd=0)
    errors = check(plan, standing)

    assert named(errors) == [(1, "Stage1RecallMinutesEnd")]
    assert errors[0].message == "Stage1RecallMinutesEnd must be greater than zero, not 0"


def test_another_flag_is_refused_listing_the_flags(standing: FakeStandingData) -> None:
    errors = check(with_entry(2, Stage2RecallFlag="XYZ"), standing)
    assert [e.message for e in errors] == ["Stage2RecallFlag 'XYZ' is not one of NRL, UNC, IFO"]
