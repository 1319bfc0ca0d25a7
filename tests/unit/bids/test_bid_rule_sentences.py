"""Each bid rule at its bounds, with the exact field path and sentence a rejection names."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from exchange.functions.bids.rules import (
    bid_errors,
    first_errors,
    period_errors,
    periods_errors,
    recall_period_problem,
    submission_errors,
)
from exchange.functions.bids.sample import sample_bids
from exchange.functions.bids.schema import EnergyPeriod, read_submission
from exchange.functions.errors import FieldError
from exchange.functions.protocol import GeneratingUnitInfo
from tests.conformance.fakes import FakeStandingData

BID = "energyBids[0]"
PERIODS = f"{BID}.energyPeriods"


def errors_of(bids: dict[str, Any], standing: FakeStandingData, caller: str = "GEN1") -> list[tuple[str, str]]:
    """(field, message) of every broken rule of the body, with the standing data of the DUIDs it names."""
    submission = read_submission(msgspec.json.encode(bids))
    units = {bid.duid: standing.generating_unit(bid.duid) for bid in submission.energy_bids}
    return [(e.field, e.message) for e in submission_errors(submission, caller, units)]


def one_bid(**changes: Any) -> dict[str, Any]:
    """The sample submission for DUID1 (400 MW) with the bid's fields changed as given."""
    bids = sample_bids(["DUID1"])
    bids["energyBids"][0].update(changes)
    return bids


def period(**changes: Any) -> EnergyPeriod:
    """A valid period 4 with the fields changed as given."""
    values: dict[str, Any] = {
        "period_id": 4,
        "max_avail": 100.0,
        "band_avail": [10.0] * 10,
        "ramp_up_rate": 5.0,
        "ramp_down_rate": 5.0,
    }
    values.update(changes)
    return EnergyPeriod(**values)


def period_messages(**changes: Any) -> list[tuple[str, str]]:
    return [(e.field, e.message) for e in period_errors(period(**changes), "p")]


def periods_with_ids(ids: list[int]) -> list[tuple[str, str]]:
    """The errors of a list of valid periods carrying the given periodIds, in that order."""
    return [(e.field, e.message) for e in periods_errors([period(period_id=i) for i in ids], "ps")]


# -- the error cap --


def test_exactly_the_limit_of_errors_is_reported_without_a_note() -> None:
    """100 errors are all reported as they are; the note comes only when there are more."""
    errors = [FieldError(f"f{i}", "bad") for i in range(100)]
    assert first_errors(iter(errors)) == errors
    assert first_errors(iter(errors[:3]), limit=3) == errors[:3]


def test_one_error_beyond_the_limit_is_replaced_by_a_note_naming_the_limit() -> None:
    """The 101st error and later ones become one note on energyBids saying how many were reported."""
    errors = [FieldError(f"f{i}", "bad") for i in range(150)]
    assert first_errors(iter(errors)) == [
        *errors[:100],
        FieldError("energyBids", "more errors follow; only the first 100 are reported"),
    ]
    assert first_errors(iter(errors), limit=2) == [
        *errors[:2],
        FieldError("energyBids", "more errors follow; only the first 2 are reported"),
    ]


def test_the_cap_stops_reading_errors_one_past_the_limit() -> None:
    """A bid with errors in every period is not walked to its end: the cap reads the limit and one more, no further."""
    drawn = 0

    def many() -> Iterator[FieldError]:
        # Finite, so that a cap that reads everything fails the test instead of hanging it.
        nonlocal drawn
        for _ in range(50):
            drawn += 1
            yield FieldError("f", "bad")

    assert len(first_errors(many(), limit=5)) == 6
    assert drawn == 6


# -- the submission --


def test_a_blank_reference_is_named_with_its_sentence(standing: FakeStandingData) -> None:
    """A referenceId of only whitespace says "must not be blank"; one with text around spaces is fine."""
    bids = sample_bids(["DUID1"], reference_id=" \t ")
    assert errors_of(bids, standing) == [("referenceId", "must not be blank")]
    assert errors_of(sample_bids(["DUID1"], reference_id=" R 1 "), standing) == []


@pytest.mark.parametrize(
    ("field", "most", "sentence"),
    [
        ("referenceId", 100, "must be at most 100 characters"),
        ("comments", 1000, "must be at most 1,000 characters"),
        ("authorisedBy", 100, "must be at most 100 characters"),
    ],
)
def test_a_string_of_the_submission_may_be_as_long_as_its_bound_and_no_longer(
    standing: FakeStandingData, field: str, most: int, sentence: str
) -> None:
    """referenceId, comments and authorisedBy at their bound pass; one character more names the field."""
    bids = sample_bids(["DUID1"])
    bids[field] = "x" * most
    assert errors_of(bids, standing) == []
    bids[field] = "x" * (most + 1)
    assert errors_of(bids, standing) == [(field, sentence)]


def test_no_energy_bid_is_named_with_its_sentence(standing: FakeStandingData) -> None:
    """An empty energyBids says it holds no energy bid."""
    bids = sample_bids(["DUID1"])
    bids["energyBids"] = []
    assert errors_of(bids, standing) == [("energyBids", "holds no energy bid")]


def test_a_duid_and_day_bid_twice_names_the_first_bid_each_time(standing: FakeStandingData) -> None:
    """The second and third bids of one DUID and day each point back at the first, not at each other."""
    bids = sample_bids(["DUID1", "DUID2", "DUID1", "DUID1"])
    sentence = "DUID DUID1 on 2026-07-01 is bid already in energyBids[0]"
    assert errors_of(bids, standing) == [
        ("energyBids[2].tradingDate", sentence),
        ("energyBids[3].tradingDate", sentence),
    ]


def test_one_duid_may_be_bid_for_several_days(standing: FakeStandingData) -> None:
    """The duplicate rule is per DUID and trading day: another day of the same DUID is fine."""
    bids = sample_bids(["DUID1", "DUID1"])
    bids["energyBids"][1]["tradingDate"] = "2026-07-02"
    assert errors_of(bids, standing) == []


# -- one bid --


def test_a_duid_of_ten_characters_is_read_and_one_of_eleven_is_refused_without_echo(standing: FakeStandingData) -> None:
    """Ten characters is the bound; a longer DUID is named by its length only, not as unregistered."""
    standing.add_unit("ABCDEFGHIJ", "GEN1", "STATION9", 400.0)
    assert errors_of(one_bid(duid="ABCDEFGHIJ"), standing) == []
    assert errors_of(one_bid(duid="ABCDEFGHIJK"), standing) == [
        (f"{BID}.duid", "must be at most 10 characters"),
    ]


def test_a_duid_too_long_is_not_checked_against_a_capacity_even_when_registered(standing: FakeStandingData) -> None:
    """A DUID over ten characters is not looked at further, so its daily constraint meets only the range rule."""
    standing.add_unit("ABCDEFGHIJK", "GEN1", "STATION9", 1.0)
    bids = one_bid(duid="ABCDEFGHIJK", dailyEnergyConstraint=5000.0)
    assert errors_of(bids, standing) == [(f"{BID}.duid", "must be at most 10 characters")]


def test_a_bid_for_another_generators_duid_is_not_checked_against_that_duids_capacity(
    standing: FakeStandingData,
) -> None:
    """Another generator's DUID (500 MW, 12,000 MWh a day) reveals nothing: no capacity sentence for it."""
    bids = sample_bids(["DUID3"])
    bids["energyBids"][0]["dailyEnergyConstraint"] = 13_000.0
    assert errors_of(bids, standing) == [(f"{BID}.duid", "DUID DUID3 is not registered to GEN1")]


def test_a_registered_duid_of_the_caller_passes_and_another_caller_is_refused(standing: FakeStandingData) -> None:
    """The owner of DUID1 may bid it; GEN2 may not, and the sentence names the caller."""
    assert errors_of(sample_bids(["DUID1"]), standing) == []
    assert errors_of(sample_bids(["DUID1"]), standing, caller="GEN2") == [
        (f"{BID}.duid", "DUID DUID1 is not registered to GEN2")
    ]


@pytest.mark.parametrize("direction", ["GEN", "LOAD"])
def test_gen_and_load_are_the_directions(standing: FakeStandingData, direction: str) -> None:
    """Both directions, GEN and LOAD, are accepted."""
    assert errors_of(one_bid(direction=direction), standing) == []


@pytest.mark.parametrize("direction", ["gen", "GENLOAD", ""])
def test_any_other_direction_is_named_quoting_it(standing: FakeStandingData, direction: str) -> None:
    """A direction other than GEN or LOAD (case counts) is quoted back in the sentence."""
    assert errors_of(one_bid(direction=direction), standing) == [
        (f"{BID}.direction", f"{direction!r} is not GEN or LOAD")
    ]


def test_eleven_prices_are_refused_saying_how_many_are_due(standing: FakeStandingData) -> None:
    """Exactly ten price bands; the sentence gives the count sent and the count due."""
    assert errors_of(one_bid(prices=[1.0] * 11), standing) == [(f"{BID}.prices", "holds 11 prices where 10 are due")]


@pytest.mark.parametrize("price", [-1000.01, 25_000.01])
def test_a_price_outside_the_floor_and_ceiling_gets_the_range_sentence(
    standing: FakeStandingData, price: float
) -> None:
    """The price sentence names both bounds in $/MWh."""
    prices = [0.0] * 10
    prices[7] = price
    assert errors_of(one_bid(prices=prices), standing) == [
        (f"{BID}.prices[7]", "must be -1,000 to 25,000 $/MWh"),
    ]


def test_a_price_that_is_not_a_number_is_refused() -> None:
    """NaN is no price (msgspec does not read it from JSON, but the rule must not depend on that)."""
    submission = read_submission(msgspec.json.encode(sample_bids(["DUID1"])))
    bid = submission.energy_bids[0]
    bid.prices[2] = float("nan")
    unit = GeneratingUnitInfo("DUID1", "GEN1", "STATION1", 400.0)
    assert [(e.field, e.message) for e in bid_errors(bid, BID, "GEN1", unit)] == [
        (f"{BID}.prices[2]", "must be -1,000 to 25,000 $/MWh")
    ]


def test_a_rebid_explanation_may_have_500_characters_and_no_more(standing: FakeStandingData) -> None:
    """AEMO's cap on a rebid explanation, with its sentence."""
    assert errors_of(one_bid(rebidExplanation="r" * 500), standing) == []
    assert errors_of(one_bid(rebidExplanation="r" * 501), standing) == [
        (f"{BID}.rebidExplanation", "must be at most 500 characters")
    ]


@pytest.mark.parametrize("constraint", [0.0, 9599.0])
def test_a_daily_energy_constraint_from_zero_to_below_capacity_is_accepted(
    standing: FakeStandingData, constraint: float
) -> None:
    """Zero MWh is a valid constraint, and so is anything below max capacity x 24 h."""
    assert errors_of(one_bid(dailyEnergyConstraint=constraint), standing) == []


def test_a_daily_energy_constraint_at_capacity_names_both_amounts(standing: FakeStandingData) -> None:
    """Recall FAQ: 9600 MWh for a 400 MW DUID is refused, the sentence giving the constraint and the ceiling."""
    assert errors_of(one_bid(dailyEnergyConstraint=9600.0), standing) == [
        (f"{BID}.dailyEnergyConstraint", "9600 MWh is not below the DUID's maximum capacity x 24 h (9600 MWh)")
    ]
    assert errors_of(one_bid(dailyEnergyConstraint=9600.5), standing) == [
        (f"{BID}.dailyEnergyConstraint", "9600.5 MWh is not below the DUID's maximum capacity x 24 h (9600 MWh)")
    ]


def test_a_negative_daily_energy_constraint_gets_the_range_sentence_only(standing: FakeStandingData) -> None:
    """Below zero is out of range; the capacity rule is not also applied to it."""
    assert errors_of(one_bid(dailyEnergyConstraint=-0.5), standing) == [
        (f"{BID}.dailyEnergyConstraint", "must be 0 to 240,000 MWh")
    ]


def test_the_daily_energy_constraint_range_ends_at_a_day_of_ten_gigawatts(standing: FakeStandingData) -> None:
    """240,000 MWh is in range (an unregistered DUID has no capacity to compare with); a little more is not."""
    bids = sample_bids(["NOSUCH"])
    duid_error = (f"{BID}.duid", "DUID NOSUCH is not registered to GEN1")
    bids["energyBids"][0]["dailyEnergyConstraint"] = 240_000.0
    assert errors_of(bids, standing) == [duid_error]
    bids["energyBids"][0]["dailyEnergyConstraint"] = 240_000.5
    assert errors_of(bids, standing) == [duid_error, (f"{BID}.dailyEnergyConstraint", "must be 0 to 240,000 MWh")]


def test_a_daily_energy_constraint_above_the_range_of_a_registered_duid_gets_the_range_sentence_only(
    standing: FakeStandingData,
) -> None:
    """Out of range is said once: the capacity comparison is only for a constraint in range."""
    assert errors_of(one_bid(dailyEnergyConstraint=250_000.0), standing) == [
        (f"{BID}.dailyEnergyConstraint", "must be 0 to 240,000 MWh")
    ]


def test_a_bid_error_names_the_path_it_was_given() -> None:
    """bid_errors prefixes every field with the path of the bid, so energyBids[i] is named right."""
    submission = read_submission(msgspec.json.encode(one_bid(direction="UP", dailyEnergyConstraint=-1.0)))
    unit = GeneratingUnitInfo("DUID1", "GEN1", "STATION1", 400.0)
    found = [(e.field, e.message) for e in bid_errors(submission.energy_bids[0], "energyBids[5]", "GEN1", unit)]
    assert found == [
        ("energyBids[5].direction", "'UP' is not GEN or LOAD"),
        ("energyBids[5].dailyEnergyConstraint", "must be 0 to 240,000 MWh"),
    ]


def test_a_bid_names_its_periods_under_its_own_path(standing: FakeStandingData) -> None:
    """A period's fault in the second bid is named energyBids[1].energyPeriods[i]."""
    bids = sample_bids(["DUID1", "DUID2"])
    bids["energyBids"][1]["energyPeriods"][9]["rampUpRate"] = -1.0
    assert errors_of(bids, standing) == [("energyBids[1].energyPeriods[9].rampUpRate", "must be 0 to 10,000 MW/min")]


# -- the periods of a bid --


def test_every_period_once_in_any_order_is_accepted() -> None:
    """288 distinct periodIds 1 to 288 is the whole rule."""
    assert periods_with_ids(list(range(288, 0, -1))) == []


def test_too_few_periods_say_how_many_and_do_not_list_the_missing_ones() -> None:
    """287 periods: one sentence with the counts; the missing list is for a full count with a duplicate."""
    assert periods_with_ids(list(range(1, 288))) == [("ps", "holds 287 periods where 288 are due")]


def test_a_repeated_period_is_named_and_the_one_it_displaced_is_missing() -> None:
    """Period 7 twice in 288: the second 7 is named, and period 6 is reported as lacking."""
    ids = list(range(1, 289))
    ids[5] = 7
    assert periods_with_ids(ids) == [
        ("ps[6].periodId", "period 7 appears more than once"),
        ("ps", "lacks period 6"),
    ]


@pytest.mark.parametrize(("period_id", "index"), [(0, 0), (289, 287)])
def test_a_period_outside_1_to_288_is_named_and_the_one_it_replaced_is_missing(period_id: int, index: int) -> None:
    """periodId 0 and 289 are no periods; 1 and 288 are."""
    ids = list(range(1, 289))
    missing = ids[index]
    ids[index] = period_id
    assert periods_with_ids(ids) == [
        (f"ps[{index}].periodId", f"{period_id} is not a period 1 to 288"),
        ("ps", f"lacks period {missing}"),
    ]


def test_an_out_of_range_period_twice_is_named_out_of_range_each_time() -> None:
    """A periodId out of range is never also called a repeat."""
    ids = [*range(1, 287), 300, 300]
    assert periods_with_ids(ids) == [
        ("ps[286].periodId", "300 is not a period 1 to 288"),
        ("ps[287].periodId", "300 is not a period 1 to 288"),
        ("ps", "lacks period 287, 288"),
    ]


def test_ten_missing_periods_are_all_listed() -> None:
    """Up to ten missing periods are listed in order, with nothing after them."""
    ids = [*range(1, 279), *[1] * 10]
    found = periods_with_ids(ids)
    assert found[-1] == ("ps", "lacks period 279, 280, 281, 282, 283, 284, 285, 286, 287, 288")


def test_more_than_ten_missing_periods_list_the_first_ten_and_an_ellipsis() -> None:
    """Eleven missing: the first ten, then ", ..."."""
    ids = [*range(1, 278), *[1] * 11]
    found = periods_with_ids(ids)
    assert found[-1] == ("ps", "lacks period 278, 279, 280, 281, 282, 283, 284, 285, 286, 287, ...")


def test_each_period_keeps_its_own_rules_at_its_own_path() -> None:
    """A fault inside a period is named under that period's index in the list."""
    periods = [period(period_id=i) for i in range(1, 289)]
    periods[40] = period(period_id=41, max_avail=-2.0)
    assert [(e.field, e.message) for e in periods_errors(periods, "ps")] == [
        ("ps[40].maxAvail", "must be 0 to 10,000 MW")
    ]


# -- one period --


@pytest.mark.parametrize(
    ("name", "field", "most", "sentence"),
    [
        ("max_avail", "maxAvail", 10_000.0, "must be 0 to 10,000 MW"),
        ("ramp_up_rate", "rampUpRate", 10_000.0, "must be 0 to 10,000 MW/min"),
        ("ramp_down_rate", "rampDownRate", 10_000.0, "must be 0 to 10,000 MW/min"),
        ("pasa_avail", "pasaAvail", 10_000.0, "must be 0 to 10,000 MW"),
        ("fixed_load", "fixedLoad", 10_000.0, "must be 0 to 10,000 MW"),
        ("energy_limit", "energyLimit", 240_000.0, "must be 0 to 240,000 MWh"),
    ],
)
def test_each_quantity_of_a_period_is_bounded_inclusively_with_its_unit(
    name: str, field: str, most: float, sentence: str
) -> None:
    """0 and the bound pass; just below 0, just above the bound and NaN are named with the range and unit."""
    assert period_messages(**{name: 0.0}) == []
    assert period_messages(**{name: most}) == []
    for value in (-0.001, most + 0.5, float("nan")):
        assert period_messages(**{name: value}) == [(f"p.{field}", sentence)]


def test_the_optional_quantities_may_be_absent() -> None:
    """pasaAvail, fixedLoad and energyLimit left out are not checked."""
    assert period_messages(pasa_avail=None, fixed_load=None, energy_limit=None) == []


def test_a_period_with_eleven_bands_says_how_many_are_due() -> None:
    """Exactly ten bandAvail values; the sentence gives the count sent and the count due."""
    assert period_messages(band_avail=[1.0] * 11) == [("p.bandAvail", "holds 11 values where 10 are due")]


@pytest.mark.parametrize("value", [-0.001, 10_000.5, float("nan")])
def test_a_band_availability_out_of_range_is_named_by_its_index(value: float) -> None:
    """Each band is 0 to 10,000 MW inclusive."""
    bands = [0.0] * 9 + [10_000.0]
    assert period_messages(band_avail=bands) == []
    bands[3] = value
    assert period_messages(band_avail=bands) == [("p.bandAvail[3]", "must be 0 to 10,000 MW")]


def test_a_refused_recall_period_names_the_period_and_the_reason() -> None:
    """The sentence starts with the periodId (not the index) and then the reason."""
    assert period_messages(recall_period=None) == [
        ("p.recallPeriod", "period 4: recallPeriod is null; leave it out for the default of 24000 hours")
    ]


# -- recallPeriod (the recall FAQ) --


@pytest.mark.parametrize("value", [msgspec.UNSET, 0, 2, 2.5, 24_000, 24_000.0])
def test_a_recall_period_left_out_or_a_number_of_hours_in_range_has_no_problem(value: Any) -> None:
    """Absent, or 0 to 24,000 hours inclusive."""
    assert recall_period_problem(value) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, "is null; leave it out for the default of 24000 hours"),
        ({"unreadable": "blank"}, "has no value (blank)"),
        ({"unreadable": "blank", "other": 1}, "must be a number of hours, not dict"),
        ({"unreadable": 5}, "must be a number of hours, not dict"),
        ({}, "must be a number of hours, not dict"),
        ("2\x00", "is a string holding a NUL character, not a number"),
        (" \t", "is a blank string, not a number"),
        ("", "is a blank string, not a number"),
        (" 5 ", "is the string ' 5 ', not a number"),
        (True, "must be a number of hours, not bool"),
        ([2], "must be a number of hours, not list"),
        (-1, "must be a number of hours of at least 0 and at most 24,000"),
        (-0.5, "must be a number of hours of at least 0 and at most 24,000"),
        (24_000.5, "must be a number of hours of at least 0 and at most 24,000"),
        (float("nan"), "must be a number of hours of at least 0 and at most 24,000"),
    ],
    ids=[
        "null",
        "unreadable",
        "unreadable-with-another-key",
        "unreadable-not-a-string",
        "empty-object",
        "nul",
        "whitespace",
        "empty-string",
        "numeric-string",
        "boolean",
        "list",
        "negative",
        "negative-fraction",
        "above-24000",
        "nan",
    ],
)
def test_each_refused_recall_period_has_its_own_sentence(value: Any, problem: str) -> None:
    """The recall FAQ's cases, each with the sentence the rejection carries."""
    assert recall_period_problem(value) == problem
