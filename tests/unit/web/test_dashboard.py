"""The operator dashboard's buckets: differences of the sampler's running totals, gathered by stretch of time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from exchange.services.metrics import Sample
from exchange.web.dashboard import buckets, dashboard_charts

START = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)


def sample(seconds: float, accepted: float, deliveries: float = 0.0, lag: float = 0.0, depth: int = 0) -> Sample:
    return Sample(START + timedelta(seconds=seconds), {"PQD": accepted}, deliveries, lag, {("LNSP1", "PQD"): depth})


def test_each_difference_counts_once_in_the_bucket_of_its_later_sample() -> None:
    """Ten-second samples over two minutes: 2-second buckets are too fine, so they are whole sample intervals."""
    samples = [sample(0, 0), sample(10, 3, 3, 1.5, 3), sample(20, 3, 3, 1.5, 3), sample(120, 10, 7, 9.5, 1)]
    found = buckets(samples, START, START + timedelta(seconds=120))
    assert [bucket.seconds for bucket in found] == [10.0] * 12
    assert [bucket.accepted_count for bucket in found] == [0, 3, 0, *[0] * 8, 7]
    assert found[1].accepted_per_second == 0.3
    # 3 deliveries took 1.5 s together; then 4 more took 8 s.
    assert found[1].mean_lag == 0.5 and found[-1].mean_lag == 2.0 and found[0].mean_lag is None
    # The depth holds between samples.
    assert [bucket.depths for bucket in found[1:4]] == [{"LNSP1": 3}] * 3
    assert found[-1].depths == {"LNSP1": 1}
    assert sum(bucket.accepted_count for bucket in found) == 10


def test_a_long_span_is_drawn_in_at_most_60_buckets_of_whole_sample_intervals() -> None:
    """Six hours: 360-second buckets; samples before the span do not count."""
    samples = [sample(-20, 5), sample(-10, 6), *(sample(s, 6 + s / 10) for s in range(0, 6 * 3600 + 1, 10))]
    found = buckets(samples, START, START + timedelta(hours=6))
    assert len(found) == 60 and {bucket.seconds for bucket in found} == {360.0}
    assert sum(bucket.accepted_count for bucket in found) == 6 * 360


def test_a_counter_that_went_down_was_reset_and_counts_from_zero() -> None:
    """Another exchange in the same process starts its totals again: its 2 count, not -8."""
    found = buckets([sample(0, 10), sample(10, 2)], START, START + timedelta(seconds=10))
    assert [bucket.accepted_count for bucket in found] == [2]


def test_the_charts_carry_the_same_numbers_as_their_tables() -> None:
    """Accepted by business function, the mean lag, and depths by participant."""
    found = buckets([sample(0, 0), sample(10, 4, 2, 1.0, 4)], START, START + timedelta(seconds=10))
    accepted, lag, depths = dashboard_charts(found, "10 seconds")
    assert accepted.headings == ("From", "PQD", "All") and accepted.rows[0][1:] == ("4", "4")
    assert lag.rows[0][1] == "0.5"
    assert depths.headings == ("At", "LNSP1", "All") and depths.rows[0][1:] == ("4", "4")
    assert "<svg" in accepted.svg and "chart-nth-0" in accepted.svg
