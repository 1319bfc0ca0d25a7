"""The bid rules and AEMO's recall period FAQ, each broken on its own, with the field path the rejection names."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from exchange.functions.bids.rules import first_errors, submission_errors
from exchange.functions.bids.sample import sample_bids
from exchange.functions.bids.schema import read_submission
from exchange.functions.errors import MalformedBodyError, RuleViolationError
from tests.conformance.fakes import FakeStandingData

PERIOD3 = "energyBids[0].energyPeriods[3]"
# A recallPeriod no sample uses, so that its JSON text can be swapped for raw bytes.
MARKER = 777777


def check(body: bytes, standing: FakeStandingData, caller: str = "GEN1") -> list[tuple[str, str]]:
    """(field, message) of every broken rule, the way the operation would answer them."""
    try:
        submission = read_submission(body)
    except RuleViolationError as error:
        return [(e.field, e.message) for e in error.errors]
    units = {bid.duid: standing.generating_unit(bid.duid) for bid in submission.energy_bids}
    return [(e.field, e.message) for e in first_errors(submission_errors(submission, caller, units))]


def fields(body: bytes, standing: FakeStandingData, caller: str = "GEN1") -> list[str]:
    return [field for field, _ in check(body, standing, caller)]


def body_with_period_3(raw_value: bytes) -> bytes:
    """The sample bid of DUID1 with the recallPeriod of its fourth period (periodId 4) as the raw JSON text given."""
    bids = sample_bids(["DUID1"])
    bids["energyBids"][0]["energyPeriods"][3]["recallPeriod"] = MARKER
    encoded = msgspec.json.encode(bids)
    assert encoded.count(b'"recallPeriod":777777') == 1
    return encoded.replace(b'"recallPeriod":777777', b'"recallPeriod":' + raw_value)


def changed(mutate: Any) -> bytes:
    bids = sample_bids(["DUID1"])
    mutate(bids)
    return msgspec.json.encode(bids)


def test_the_sample_bid_keeps_every_rule(standing: FakeStandingData) -> None:
    """The baseline: the sample bid (recallPeriod 2 everywhere) is accepted for the DUID's owner."""
    assert check(msgspec.json.encode(sample_bids(["DUID1", "DUID2"])), standing) == []


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"", "has no value (blank)"),
        (b" ", "has no value (only whitespace)"),
        (b"\t", "has no value (only whitespace)"),
        (b'" "', "is a blank string"),
        (b'"\t"', "has no value"),
        (b'"\\t"', "is a blank string"),
        (b'"5"', "is the string '5'"),
        (b'"two"', "is the string 'two'"),
        (b"two", "has no value (not a JSON value)"),
        (b"null", "is null"),
        (b"\x00", "has no value (a NUL character)"),
        (b'"\\u0000"', "holding a NUL character"),
        (b"true", "must be a number of hours"),
        (b"[2]", "must be a number of hours"),
        (b"-1", "at least 0"),
    ],
    ids=[
        "blank",
        "space",
        "tab",
        "quoted-space",
        "quoted-raw-tab",
        "quoted-escaped-tab",
        "string-5",
        "string",
        "bare-word",
        "null",
        "nul-character",
        "escaped-nul",
        "boolean",
        "list",
        "negative",
    ],
)
def test_a_recall_period_present_but_not_a_number_rejects_the_bid_naming_the_period(
    standing: FakeStandingData, raw: bytes, says: str
) -> None:
    """Recall FAQ: blank, whitespace, a tab, any string (even "5"), null or a NUL character reject the whole bid."""
    errors = check(body_with_period_3(raw), standing)
    assert [field for field, _ in errors] == [f"{PERIOD3}.recallPeriod"]
    assert says in errors[0][1] and "period 4" in errors[0][1]


@pytest.mark.parametrize("raw", [b"0", b"2", b"24000", b"2.5"])
def test_a_numeric_recall_period_is_accepted(standing: FakeStandingData, raw: bytes) -> None:
    """A number of hours is what recallPeriod holds."""
    assert check(body_with_period_3(raw), standing) == []


def test_a_recall_period_left_out_is_accepted(standing: FakeStandingData) -> None:
    """The recall FAQ's accepted sample: period 1 says 2, periods 2 and 3 leave recallPeriod out (24000 is stored)."""
    bids = sample_bids(["DUID1"])
    for period in bids["energyBids"][0]["energyPeriods"][1:3]:
        del period["recallPeriod"]
    assert check(msgspec.json.encode(bids), standing) == []


def test_body_that_is_broken_elsewhere_is_still_malformed() -> None:
    """Only a recallPeriod without a value is read leniently; other broken JSON is a 400."""
    with pytest.raises(MalformedBodyError):
        read_submission(body_with_period_3(b"2")[:-5])
    with pytest.raises(MalformedBodyError):
        read_submission(body_with_period_3(b"").replace(b'"maxAvail":', b'"maxAvail":,', 1))


@pytest.mark.parametrize(("constraint", "accepted"), [(9599.9, True), (9600.0, False), (20000.0, False)])
def test_a_daily_energy_constraint_of_max_capacity_times_24_rejects_the_bid(
    standing: FakeStandingData, constraint: float, accepted: bool
) -> None:
    """Recall FAQ: rejected when dailyEnergyConstraint ≥ registered max capacity (400 MW) x 24 h = 9600 MWh."""

    def mutate(bids: dict[str, Any]) -> None:
        bids["energyBids"][0]["dailyEnergyConstraint"] = constraint

    errors = check(changed(mutate), standing)
    if accepted:
        assert errors == []
    else:
        assert [field for field, _ in errors] == ["energyBids[0].dailyEnergyConstraint"]
        assert "9600" in errors[0][1]


@pytest.mark.parametrize("duid", ["DUID3", "NOSUCH"], ids=["another-generators", "unknown"])
def test_a_bid_for_a_duid_not_ones_own_is_rejected_naming_the_duid(standing: FakeStandingData, duid: str) -> None:
    """A bid for another generator's DUID (or an unregistered one) names energyBids[i].duid."""
    errors = check(msgspec.json.encode(sample_bids(["DUID1", duid])), standing)
    assert errors == [("energyBids[1].duid", f"DUID {duid} is not registered to GEN1")]


def drop(key: str) -> Any:
    def mutate(bids: dict[str, Any]) -> None:
        del bids["energyBids"][0][key]

    return mutate


def set_bid(key: str, value: object) -> Any:
    def mutate(bids: dict[str, Any]) -> None:
        bids["energyBids"][0][key] = value

    return mutate


def set_period(index: int, key: str, value: object) -> Any:
    def mutate(bids: dict[str, Any]) -> None:
        bids["energyBids"][0]["energyPeriods"][index][key] = value

    return mutate


def drop_period(index: int) -> Any:
    def mutate(bids: dict[str, Any]) -> None:
        del bids["energyBids"][0]["energyPeriods"][index]

    return mutate


def without(key: str) -> Any:
    def mutate(bids: dict[str, Any]) -> None:
        del bids[key]

    return mutate


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (without("referenceId"), "referenceId"),
        (lambda b: b.update(referenceId="  "), "referenceId"),
        (lambda b: b.update(energyBids=[]), "energyBids"),
        (drop("tradingDate"), "energyBids[0].tradingDate"),
        (set_bid("tradingDate", "1 July"), "energyBids[0].tradingDate"),
        (drop("duid"), "energyBids[0].duid"),
        (set_bid("direction", "BOTH"), "energyBids[0].direction"),
        (drop("direction"), "energyBids[0].direction"),
        (set_bid("prices", [1.0] * 9), "energyBids[0].prices"),
        (set_bid("prices", ["cheap"] * 10), "energyBids[0].prices[0]"),
        (drop("energyPeriods"), "energyBids[0].energyPeriods"),
        (drop_period(100), "energyBids[0].energyPeriods"),
        (set_period(5, "periodId", 7), "energyBids[0].energyPeriods[6].periodId"),
        (set_period(5, "periodId", 289), "energyBids[0].energyPeriods[5].periodId"),
        (set_period(5, "periodId", 0), "energyBids[0].energyPeriods[5].periodId"),
        (set_period(3, "maxAvail", -1), "energyBids[0].energyPeriods[3].maxAvail"),
        (set_period(3, "bandAvail", [1.0] * 11), "energyBids[0].energyPeriods[3].bandAvail"),
        (set_period(3, "rampUpRate", None), "energyBids[0].energyPeriods[3].rampUpRate"),
        (set_period(3, "rampDownRate", -5), "energyBids[0].energyPeriods[3].rampDownRate"),
        (lambda b: b["energyBids"][0]["energyPeriods"][3].pop("maxAvail"), "energyBids[0].energyPeriods[3].maxAvail"),
    ],
    ids=[
        "no-reference",
        "blank-reference",
        "no-bids",
        "no-trading-date",
        "bad-trading-date",
        "no-duid",
        "bad-direction",
        "no-direction",
        "nine-prices",
        "price-not-number",
        "no-periods",
        "287-periods",
        "period-twice",
        "period-289",
        "period-0",
        "negative-max-avail",
        "eleven-bands",
        "null-ramp-up",
        "negative-ramp-down",
        "no-max-avail",
    ],
)
def test_required_fields_and_their_forms_are_named(standing: FakeStandingData, mutate: Any, field: str) -> None:
    """Each required field, missing or malformed, is named by its path."""
    bids = sample_bids(["DUID1"])
    mutate(bids)
    assert field in fields(msgspec.json.encode(bids), standing)


def test_periods_may_come_in_any_order(standing: FakeStandingData) -> None:
    """Each periodId 1 to 288 exactly once, in any order."""
    bids = sample_bids(["DUID1"])
    bids["energyBids"][0]["energyPeriods"].reverse()
    assert check(msgspec.json.encode(bids), standing) == []


def test_one_duid_and_day_twice_in_a_submission_is_rejected(standing: FakeStandingData) -> None:
    """Two bids for one DUID and trading day in one submission: the second is named."""
    assert fields(msgspec.json.encode(sample_bids(["DUID1", "DUID1"])), standing) == ["energyBids[1].tradingDate"]


def test_optional_fields_may_be_left_out(standing: FakeStandingData) -> None:
    """comments, authorisedBy, dailyEnergyConstraint, pasaAvail and the rest are optional."""
    bids = sample_bids(["DUID1"])
    del bids["comments"], bids["authorisedBy"], bids["energyBids"][0]["dailyEnergyConstraint"]
    for period in bids["energyBids"][0]["energyPeriods"]:
        del period["pasaAvail"], period["recallPeriod"]
    assert check(msgspec.json.encode(bids), standing) == []


def set_prices(value: float) -> Any:
    def mutate(bids: dict[str, Any]) -> None:
        bids["energyBids"][0]["prices"][4] = value

    return mutate


HUGE = 1e23


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (set_prices(HUGE), "energyBids[0].prices[4]"),
        (set_prices(25_000.01), "energyBids[0].prices[4]"),
        (set_prices(-1000.01), "energyBids[0].prices[4]"),
        (set_period(3, "rampUpRate", HUGE), f"{PERIOD3}.rampUpRate"),
        (set_period(3, "rampDownRate", 10_001), f"{PERIOD3}.rampDownRate"),
        (set_period(3, "maxAvail", HUGE), f"{PERIOD3}.maxAvail"),
        (set_period(3, "bandAvail", [0.0] * 9 + [HUGE]), f"{PERIOD3}.bandAvail[9]"),
        (set_period(3, "pasaAvail", HUGE), f"{PERIOD3}.pasaAvail"),
        (set_period(3, "fixedLoad", HUGE), f"{PERIOD3}.fixedLoad"),
        (set_period(3, "energyLimit", HUGE), f"{PERIOD3}.energyLimit"),
        (set_period(3, "recallPeriod", 24_001), f"{PERIOD3}.recallPeriod"),
        (set_bid("dailyEnergyConstraint", HUGE), "energyBids[0].dailyEnergyConstraint"),
        (set_bid("rebidExplanation", "x" * 501), "energyBids[0].rebidExplanation"),
        (set_bid("duid", "D" * 2_000_000), "energyBids[0].duid"),
        (lambda b: b.update(referenceId="R" * 101), "referenceId"),
        (lambda b: b.update(comments="c" * 1001), "comments"),
        (lambda b: b.update(authorisedBy="a" * 101), "authorisedBy"),
    ],
    ids=[
        "price-1e23",
        "price-above-ceiling",
        "price-below-floor",
        "ramp-up-1e23",
        "ramp-down-above-10-GW",
        "max-avail-1e23",
        "band-avail-1e23",
        "pasa-avail-1e23",
        "fixed-load-1e23",
        "energy-limit-1e23",
        "recall-period-above-24000-hours",
        "daily-energy-constraint-1e23",
        "rebid-explanation-501-characters",
        "duid-2-MB",
        "reference-id-101-characters",
        "comments-1001-characters",
        "authorised-by-101-characters",
    ],
)
def test_every_number_and_string_of_a_bid_has_a_range_and_one_outside_it_is_named(
    standing: FakeStandingData, mutate: Any, field: str
) -> None:
    """A price, quantity, ramp rate, recall period or string beyond its bound rejects the bid naming that field only."""
    errors = check(changed(mutate), standing)
    assert [f for f, _ in errors] == [field]
    assert len(errors[0][1]) < 200  # the message does not echo what was sent


def test_the_bounds_themselves_are_accepted(standing: FakeStandingData) -> None:
    """The market price floor, the price ceiling and the longest recall period are valid."""

    def at_bounds(bids: dict[str, Any]) -> None:
        bids["energyBids"][0]["prices"][0] = -1000.0
        bids["energyBids"][0]["prices"][9] = 25_000.0
        bids["energyBids"][0]["energyPeriods"][0]["recallPeriod"] = 24_000

    assert check(changed(at_bounds), standing) == []
