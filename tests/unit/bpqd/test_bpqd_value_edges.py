"""The edges of BPQD's value rules, on the pure functions: inclusive ranges, non-finite values, the error cap."""

from __future__ import annotations

import math
from collections.abc import Iterator

from exchange.functions.bpqd.rules import value_errors
from exchange.functions.errors import MAX_ERRORS, FieldError, first_errors


def errors_of(values: list[float | None], *, nulls_allowed: bool = False) -> list[tuple[str, str]]:
    return [(e.field, e.message) for e in value_errors(values, "v", 0.0, 1000.0, nulls_allowed=nulls_allowed)]


def test_both_ends_of_a_range_are_inside_it_whether_checked_fast_or_one_by_one() -> None:
    """0 and 1000 V are valid alone and next to a null (which takes the value-by-value path)."""
    assert errors_of([0.0, 1000.0]) == []
    assert errors_of([0.0, 1000.0, None], nulls_allowed=True) == []


def test_each_bad_value_is_named_by_its_index_with_its_reason() -> None:
    values: list[float | None] = [1.0, None, math.inf, math.nan, -0.5, 1000.5]
    assert errors_of(values) == [
        ("v[1]", "is null, which only qualityFlag N allows"),
        ("v[2]", "must be a finite number"),
        ("v[3]", "must be a finite number"),
        ("v[4]", "-0.5 is outside 0 to 1000"),
        ("v[5]", "1000.5 is outside 0 to 1000"),
    ]


def test_a_not_a_number_alone_is_caught_by_the_fast_path_check() -> None:
    assert errors_of([1.0, math.nan]) == [("v[1]", "must be a finite number")]


def test_exactly_the_cap_of_errors_is_reported_without_a_note_and_one_more_with_it() -> None:
    errors = [FieldError(f"f{n}", "bad") for n in range(MAX_ERRORS + 5)]

    assert first_errors(iter(errors[:MAX_ERRORS])) == errors[:MAX_ERRORS]
    capped = first_errors(iter(errors[: MAX_ERRORS + 1]))
    assert capped == [
        *errors[:MAX_ERRORS],
        FieldError("data", f"more errors follow; only the first {MAX_ERRORS} are reported"),
    ]
    assert first_errors(iter(errors)) == capped


def test_the_cap_stops_reading_errors_after_the_one_that_shows_more_follow() -> None:
    """The rules are generators; a body of millions of bad values must not have every error built."""
    pulled = 0

    def errors() -> Iterator[FieldError]:
        nonlocal pulled
        for n in range(10 * MAX_ERRORS):
            pulled += 1
            yield FieldError(f"f{n}", "bad")

    assert len(first_errors(errors())) == MAX_ERRORS + 1
    assert pulled == MAX_ERRORS + 1
