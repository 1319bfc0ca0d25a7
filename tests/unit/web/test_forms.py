"""The web app's pure parts: the recall-plan form, where errors land, redirects, origins, times, environments."""

from __future__ import annotations

from typing import Any

import pytest

from exchange.functions.recall.web import ENTRY_FIELDS, PlanForm, _by_field
from exchange.web.environment import Environment
from exchange.web.pages import api_timestamp, form_text, matching, typed_number, with_search
from exchange.web.routes import market_time, size
from exchange.web.session import ForeignOriginError, check_same_origin, safe_next


def posted(**fields: str) -> dict[str, str]:
    return {"mode": "create", "OutagePlanId": "P1", "DUID": "D1", "OutagePlanDescription": "", **fields}


def test_a_posted_form_becomes_the_submit_body_with_numbers_nulls_and_text_as_typed() -> None:
    form = PlanForm.of_post(
        posted(
            entries="1",
            **{
                "e0.StartDate": "2026-07-01",
                "e0.EndDate": "2026-07-03",
                "e0.Stage1RecallMinutesStart": "240",
                "e0.Stage1RecallMinutesEnd": "90.5",
                "e0.Stage1MW": "lots",
                "e0.Stage2RecallFlag": "UNC",
            },
        )
    )
    body = form.request_body("GEN1")
    assert body["ParticipantId"] == "GEN1"
    assert "OutagePlanDescription" not in body  # blank: left out, not sent as ""
    [entry] = body["RecallPlanEntries"]
    assert entry["Stage1RecallMinutesStart"] == 240 and isinstance(entry["Stage1RecallMinutesStart"], int)
    assert entry["Stage1RecallMinutesEnd"] == 90.5
    assert entry["Stage1MW"] == "lots"  # the rules name it; the form shows it back for correcting
    assert entry["Stage2RecallFlag"] == "UNC"
    assert entry["Stage2MW"] is None
    assert set(entry) == set(ENTRY_FIELDS)


def test_a_clone_starts_from_the_source_without_its_id_and_names_it() -> None:
    version: dict[str, Any] = {
        "OutagePlanId": "P1",
        "DUID": "D1",
        "OutagePlanDescription": "x",
        "RecallPlanEntries": [{"StartDate": "2026-07-01", "EndDate": "2026-07-02", "Stage1MW": 100.0}],
    }
    form = PlanForm.of_version("clone", version)
    assert form.plan["OutagePlanId"] == ""
    assert form.cloned_from == {"OutagePlanId": "P1", "DUID": "D1"}
    assert form.entries[0]["Stage1MW"] == "100"
    body = form.request_body("GEN1")
    assert (body["ClonedFromOutagePlanId"], body["ClonedFromDUID"]) == ("P1", "D1")


def test_a_form_with_an_unknown_mode_or_count_is_read_safely() -> None:
    form = PlanForm.of_post(posted(mode="drop tables", entries="x"))
    assert (form.mode, form.entries) == ("create", [])


def test_errors_land_on_the_plan_field_or_the_entry_field_they_name() -> None:
    errors = [
        {"ErrorMessage": "taken", "EntryNumber": 0, "EntryField": "OutagePlanId"},
        {"ErrorMessage": "too big", "EntryNumber": 2, "EntryField": "Stage1MW"},
        {"ErrorMessage": "negative", "EntryNumber": 2, "EntryField": "Stage1MW"},
    ]
    assert _by_field(errors) == {"OutagePlanId": ["taken"], "e1.Stage1MW": ["too big", "negative"]}


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/app/translog?x=1", "/app/translog?x=1"),
        ("https://evil.example/app", "/app"),
        ("//evil.example/app", "/app"),
        ("/admin/v1/participants", "/app"),
        ("/app\\..\\x", "/app"),
        (None, "/app"),
    ],
)
def test_sign_in_returns_only_to_a_page_of_the_web_app(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


class Headers:
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


def test_a_post_from_another_origin_is_refused() -> None:
    check_same_origin(Headers({"host": "idx.example:8080", "origin": "https://idx.example:8080"}))  # type: ignore[arg-type]
    check_same_origin(Headers({"host": "idx.example:8080"}))  # type: ignore[arg-type]
    with pytest.raises(ForeignOriginError):
        check_same_origin(Headers({"host": "idx.example:8080", "origin": "https://evil.example"}))  # type: ignore[arg-type]
    with pytest.raises(ForeignOriginError):
        check_same_origin(Headers({"host": "idx.example:8080", "origin": "null"}))  # type: ignore[arg-type]


def test_typed_times_are_market_time_and_shown_in_market_time() -> None:
    assert api_timestamp("2026-07-01T10:00") == "2026-07-01T10:00:00.000+10:00"
    assert api_timestamp("2026-07-01T10:00:00+00:00") == "2026-07-01T10:00:00.000+00:00"
    assert api_timestamp("yesterday") == "yesterday"  # the API names what is wrong with it
    assert market_time("2026-07-01T00:00:00.000Z") == "2026-07-01 10:00:00"
    assert market_time(None) == ""
    assert (size(10), size(2048), size(3 * 1024 * 1024)) == ("10 B", "2.0 KiB", "3.0 MiB")


@pytest.mark.parametrize(
    ("name", "kind"),
    [("Production", "production"), ("PROD", "production"), ("Pre-production", "preproduction"),
     ("preprod", "preproduction"), ("Development", "other"), ("Training", "other")],
)  # fmt: skip
def test_the_environment_decides_the_border(name: str, kind: str) -> None:
    assert Environment(name).kind == kind


def test_a_search_keeps_the_rows_with_the_text_in_a_named_field_whatever_its_case() -> None:
    """Only the named fields are searched, a missing or null field matches nothing, and no text keeps every row."""
    rows = [{"id": "PLAN-A", "note": "x"}, {"id": "b", "note": "plan"}, {"id": None}, {"note": "Plan"}]
    assert matching(rows, "plan", ("id",)) == [rows[0]]
    assert matching(rows, "PLAN", ("id", "note")) == [rows[0], rows[1], rows[3]]
    assert matching(rows, "", ("id",)) == rows


def test_a_list_screens_links_keep_its_search_only_when_there_is_one() -> None:
    """The search box's text travels as `q` beside the filters; an empty one adds nothing."""
    assert with_search({"DUID": "D1"}, "gen") == {"DUID": "D1", "q": "gen"}
    assert with_search({"DUID": "D1"}, "") == {"DUID": "D1"}


@pytest.mark.parametrize(
    ("typed", "sent"), [("12", 12), ("12.5", 12.5), ("1e3", 1000), ("lots", "lots"), ("nan", "nan"), ("-inf", "-inf")]
)
def test_a_typed_number_goes_as_a_number_and_anything_else_as_typed(typed: str, sent: object) -> None:
    """Whole numbers go as integers; text, and the floats JSON cannot carry (nan, inf), go as typed for the API."""
    assert typed_number(typed) == sent and type(typed_number(typed)) is type(sent)


@pytest.mark.parametrize(("answered", "shown"), [(None, ""), (5.0, "5"), (2.5, "2.5"), (7, "7"), ("UNC", "UNC")])
def test_a_value_the_api_answered_shows_in_a_form_field_as_typed(answered: object, shown: str) -> None:
    """Null shows as an empty field and a whole float without its `.0`, as someone would have typed it."""
    assert form_text(answered) == shown
