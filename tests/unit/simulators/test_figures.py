"""Pure helpers of the simulators and the benchmark."""

from __future__ import annotations

import math

import pytest

from simulators.figures import (
    SMALL_SHAPES,
    PayloadShape,
    format_size,
    nearest,
    nmis_for_size,
    parse_size,
    percentile,
    rate,
    ratio,
    split_evenly,
)
from simulators.payloads import bpqd_body, shape_for_size


@pytest.mark.parametrize(
    ("text", "size"),
    [("1KiB", 1024), ("100KiB", 102_400), ("1MB", 1_000_000), ("1MiB", 1 << 20), ("2048", 2048), ("1.5kb", 1500)],
)
def test_sizes_parse_as_people_write_them(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "KiB", "1 parsec", "-1KiB"])
def test_a_size_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


def test_round_sizes_format_back_to_their_names() -> None:
    assert [format_size(parse_size(s)) for s in ("1KiB", "100KiB", "1MB")] == ["1KiB", "100KiB", "1MB"]


def test_nmis_for_size_rounds_to_the_nearest_count_and_never_below_one() -> None:
    """An envelope of `overhead` bytes plus whole NMI-days comes nearest to the target."""
    assert nmis_for_size(100_000, bytes_per_nmi=14_000, overhead=500) == 7
    assert nmis_for_size(1_000_000, bytes_per_nmi=14_370, overhead=500) == 70
    assert nmis_for_size(10, bytes_per_nmi=14_000, overhead=500) == 1


def test_nearest_prefers_the_first_on_a_tie() -> None:
    assert nearest([10, 20, 30], 24) == 1
    assert nearest([10, 20], 15) == 0


def test_percentiles_interpolate_between_closest_ranks() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == pytest.approx(50.5)
    assert percentile(values, 0.99) == pytest.approx(99.01)
    assert percentile([3.0, 1.0, 2.0], 0.0) == 1.0
    assert percentile([3.0, 1.0, 2.0], 1.0) == 3.0
    assert percentile([7.0], 0.99) == 7.0
    assert math.isnan(percentile([], 0.5))
    with pytest.raises(ValueError):
        percentile([1.0], 1.5)


def test_rates_and_ratios_are_zero_rather_than_dividing_by_zero() -> None:
    assert rate(10, 2.0) == 5.0
    assert rate(10, 0.0) == 0.0
    assert ratio(1.0, 4.0) == 0.25
    assert ratio(1.0, 0.0) == 0.0


def test_work_is_split_into_shares_that_differ_by_at_most_one() -> None:
    assert split_evenly(10, 3) == [4, 3, 3]
    assert sum(split_evenly(1001, 7)) == 1001


@pytest.mark.parametrize("target", [1024, 100 * 1024, 1_000_000])
def test_the_benchmark_sizes_give_bodies_near_the_target(target: int) -> None:
    """1 KiB is the thinnest valid NMI-day (30-minute intervals, one phase, ~1.4 KB); 100 KiB and 1 MB add whole
    NMI-days (5-minute intervals, three phases)."""
    shape = shape_for_size(target, "BM1", "BL1")
    size = len(bpqd_body("BM1", ["BL1"], shape=shape))
    assert abs(size - target) / target < (0.45 if target < 10_000 else 0.1), (shape, size)
    assert (shape in SMALL_SHAPES) == (target < 10_000)


def test_a_body_can_carry_a_given_nmi_without_a_stale_checksum() -> None:
    body = bpqd_body("MC1", ["LNSP1"], shape=PayloadShape(2), nmi="6102123456")
    assert b'"nmi":"6102123456"' in body
    assert body.count(b"nmiChecksum") == 1  # the replaced NMI's checksum is dropped, the other one kept
