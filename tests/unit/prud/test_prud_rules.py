"""The rules of a prudential publication, checked in-process on the plugin's `accept` with fake standing data."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from exchange.functions.errors import MalformedBodyError, RuleViolationError
from exchange.functions.protocol import Submission
from exchange.functions.prud import plugin
from exchange.functions.prud.files import negotiate, stamp
from exchange.functions.prud.sample import credit_body, daily_body
from exchange.functions.prud.web import SERIES, securities_chart
from exchange.kernel.errors import NotAcceptableError
from tests.conformance.fakes import FakeStandingData

PARAMETERS = "data.transactions[0].parameters"
CREDIT = "data.transactions[0].creditSupport"


@pytest.fixture
def standing() -> FakeStandingData:
    data = FakeStandingData()
    data.participants.update(OPERATOR=frozenset({"OPERATOR"}), MP1=frozenset({"MP"}), MP2=frozenset({"MP"}))
    data.participants["GEN1"] = frozenset({"GENERATOR"})
    return data


def refused(standing: FakeStandingData, body: bytes, resource: str = "daily") -> list[str]:
    """The fields the plugin's refusal names (empty when it accepts the body)."""
    submission = Submission("prud", resource, "OPERATOR", "Medium", f"prud~{resource}~m~OPERATOR~1", "1.0", body)
    try:
        plugin.accept(submission, standing)
    except RuleViolationError as error:
        return [e.field for e in error.errors]
    return []


def changed(body: bytes, change: Callable[[dict[str, Any]], None], key: str = "parameters") -> bytes:
    envelope = json.loads(body)
    change(envelope["data"]["transactions"][0][key])
    return json.dumps(envelope).encode()


def test_the_samples_are_accepted_for_their_one_recipient(standing: FakeStandingData) -> None:
    """A daily and a credit sample pass every rule."""
    assert refused(standing, daily_body("OPERATOR", ["MP1"])) == []
    assert refused(standing, credit_body("OPERATOR", ["MP1"]), "credit") == []


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("tradingMargin", "0.001", "tradingMargin"),
        ("creditSupport", "-0.01", "creditSupport"),
        ("tradingLimit", "100000000000.01", "tradingLimit"),
        ("outstandingAmount", "NaN", "outstandingAmount"),
        ("calculationType", "Estimate", "calculationType"),
        ("asAtDate", "1999-12-31", "asAtDate"),
        ("participantId", "mp1", "participantId"),
    ],
)
def test_each_amount_date_and_code_has_its_range(standing: FakeStandingData, name: str, value: str, field: str) -> None:
    """Amounts in whole cents within ±100 billion (some never negative), dates in range, codes from the list."""

    def change(parameters: dict[str, Any]) -> None:
        parameters[name] = value

    assert f"{PARAMETERS}.{field}" in refused(standing, changed(daily_body("OPERATOR", ["MP1"]), change))


def test_amounts_sent_as_json_numbers_are_added_exactly(standing: FakeStandingData) -> None:
    """0.1 + 0.2 is 0.3 to the cent: the JSON text is read as a decimal, so binary rounding never decides."""
    amounts = {
        "cumulativeEstimatedExposure": 0.1, "invoicedNotPaid": 0.2, "prepayments": 0, "outstandingAmount": 0.3,
        "tradingLimit": 0.3, "tradingMargin": 0,
    }  # fmt: skip
    assert 0.1 + 0.2 != 0.3  # what floats would have said
    assert refused(standing, changed(daily_body("OPERATOR", ["MP1"]), lambda p: p.update(amounts))) == []


def test_a_publication_to_two_participants_is_refused(standing: FakeStandingData) -> None:
    """Prudential data goes only to the participant it is about: one receiver."""
    fields = refused(standing, daily_body("OPERATOR", ["MP1", "MP2"]))
    assert "data.header.receivingParticipantId" in fields


def test_a_receiver_without_the_mp_role_is_refused(standing: FakeStandingData) -> None:
    """The receiving role of prudential data is MP."""
    assert "data.header.receivingParticipantId[0]" in refused(standing, daily_body("OPERATOR", ["GEN1"]))


@pytest.mark.parametrize(
    ("index", "name", "value"),
    [
        (0, "invoicePeriod", "June 2026"),
        (1, "invoicePeriod", "2026-07"),
        (1, "days", 8),
        (0, "market", "NEM"),
        (0, "exposure", "1.005"),
    ],
)
def test_the_settlement_statement_keeps_the_seeds_forms(
    standing: FakeStandingData, index: int, name: str, value: object
) -> None:
    """Non-STEM periods are months (YYYY-MM, up to 31 days), STEM ones trading weeks (TW 31/20, up to 7 days)."""

    def change(parameters: dict[str, Any]) -> None:
        parameters["settlementStatement"][index][name] = value

    field = f"{PARAMETERS}.settlementStatement[{index}].{'market' if name == 'market' else name}"
    assert field in refused(standing, changed(daily_body("OPERATOR", ["MP1"]), change))


def test_detail_values_outside_the_exposed_period_or_repeated_are_refused(standing: FakeStandingData) -> None:
    """A trading day more than 400 days before the as-at date, and a variable twice for a market and day."""

    def change(parameters: dict[str, Any]) -> None:
        parameters["detail"][0]["tradingDate"] = "2024-01-01"
        parameters["detail"][2] = dict(parameters["detail"][1])

    fields = refused(standing, changed(daily_body("OPERATOR", ["MP1"]), change))
    assert f"{PARAMETERS}.detail[0].tradingDate" in fields
    assert f"{PARAMETERS}.detail[2].variable" in fields


@pytest.mark.parametrize(
    ("where", "name", "value"),
    [
        ("instruments", "status", "Cancelled"),
        ("instruments", "type", "Letter of Credit"),
        ("instruments", "expiryDate", "2025-01-01"),
        ("instruments", "instrumentId", "BG MP1 1"),
        ("creditLimits", "amount", "-5"),
    ],
)
def test_credit_support_rules(standing: FakeStandingData, where: str, name: str, value: str) -> None:
    """Instruments: the seed's statuses and types, an expiry after the effective date, a plain id; limits ≥ 0."""

    def change(credit: dict[str, Any]) -> None:
        credit[where][0][name] = value

    body = changed(credit_body("OPERATOR", ["MP1"]), change, "creditSupport")
    assert f"{CREDIT}.{where}[0].{name}" in refused(standing, body, "credit")


def test_two_credit_limits_on_one_date_are_refused(standing: FakeStandingData) -> None:
    """A credit limit applies until the next effective date: two on the same date would leave it undecided."""

    def change(credit: dict[str, Any]) -> None:
        credit["creditLimits"][1]["effectiveDate"] = credit["creditLimits"][0]["effectiveDate"]

    body = changed(credit_body("OPERATOR", ["MP1"]), change, "creditSupport")
    assert f"{CREDIT}.creditLimits[1].effectiveDate" in refused(standing, body, "credit")


def test_a_body_that_is_not_json_is_malformed(standing: FakeStandingData) -> None:
    submission = Submission("prud", "daily", "OPERATOR", "Medium", "prud~daily~m~OPERATOR~1", "1.0", b"{not json")
    with pytest.raises(MalformedBodyError):
        plugin.accept(submission, standing)


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("text/csv", "text/csv"),
        ("application/json;q=0.5, application/zip", "application/zip"),
        ("text/*", "text/csv"),
    ],
)
def test_the_accept_header_chooses_the_form(accept: str | None, chosen: str) -> None:
    assert negotiate(accept, ("application/json", "text/csv", "application/zip")) == chosen


def test_an_accept_header_taking_no_offered_form_is_not_acceptable() -> None:
    with pytest.raises(NotAcceptableError):
        negotiate("application/xml, text/csv;q=0", ("application/json", "text/csv"))


def test_the_file_stamp_is_awst_to_the_hundredth_of_a_second() -> None:
    """AEMO's example `2020070223004523`: 23:00:45.23 on 2 July 2020 in Perth."""
    from datetime import UTC, datetime

    assert stamp(datetime(2020, 7, 2, 15, 0, 45, 230_000, tzinfo=UTC)) == "2020070223004523"


def test_the_chart_draws_the_four_series_with_a_legend() -> None:
    """One line per series over the points, each named in the legend, the amounts in dollars on the axis."""
    points = [
        {"asAtDate": f"2026-07-0{day}", "creditSupport": 100_000, "tradingLimit": 87_000,
         "outstandingAmount": 40_000 + day, "tradingMargin": 47_000 - day}
        for day in (1, 2, 3)
    ]  # fmt: skip
    chart = securities_chart(points)
    assert chart is not None
    svg = str(chart.svg)
    for name, label in SERIES:
        assert f'data-series="{name}"' in svg and f"<title>{label}</title>" in svg
    assert svg.count("<polyline") == 4
    assert [entry.label for entry in chart.legend] == [label for _, label in SERIES]
    assert ">$100k<" in svg and ">2026-07-03<" in svg
    assert securities_chart([]) is None
