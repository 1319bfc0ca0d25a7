"""The exchange's one clock and its timestamp forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from exchange.kernel.clock import Clock, iso, iso_from_key, parse_iso, utc_key

TOLERANCE = timedelta(seconds=5)

# UTC offsets in whole minutes, as ISO 8601 writes them.
offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
moments = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=offsets)


def test_iso_gives_market_time_with_milliseconds() -> None:
    """iso() renders any instant in market time (+10:00) with exactly three fractional digits."""
    assert iso(datetime(2026, 7, 1, 0, 0, tzinfo=UTC)) == "2026-07-01T10:00:00.000+10:00"
    assert iso(datetime(2026, 12, 31, 20, 30, 15, 123_999, tzinfo=UTC)) == "2027-01-01T06:30:15.123+10:00"
    assert iso(datetime(2026, 7, 1, 3, 0, tzinfo=timezone(timedelta(hours=-5)))) == "2026-07-01T18:00:00.000+10:00"


@given(moments)
def test_iso_round_trips_through_parse_iso_to_the_millisecond(moment: datetime) -> None:
    """parse_iso(iso(t)) is t truncated to milliseconds."""
    assert parse_iso(iso(moment)) == moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def test_advance_moves_now_forward() -> None:
    """advance(seconds) moves now() by that much and returns the new now."""
    clock = Clock()
    before = clock.now()
    returned = clock.advance(86_400)
    assert abs(returned - (before + timedelta(days=1))) < TOLERANCE
    assert abs(clock.now() - returned) < TOLERANCE


def test_advance_persists_across_clocks_sharing_the_offset_file(tmp_path: Path) -> None:
    """A clock opened on the same offset file starts with the offset an earlier clock advanced to."""
    offset_file = tmp_path / "clock.offset"
    Clock(offset_file).advance(3600)
    Clock(offset_file).advance(1800.5)
    reopened = Clock(offset_file)
    assert abs(reopened.now() - (datetime.now(UTC) + timedelta(seconds=5400.5))) < TOLERANCE


def test_clock_without_offset_file_is_wall_time(tmp_path: Path) -> None:
    """Advancing a clock without an offset file changes no other clock."""
    Clock().advance(3600)
    assert abs(Clock().now() - datetime.now(UTC)) < TOLERANCE
    assert abs(Clock(tmp_path / "absent.offset").now() - datetime.now(UTC)) < TOLERANCE


@given(moments, moments)
def test_utc_key_order_is_time_order_across_offsets(a: datetime, b: datetime) -> None:
    """Comparing utc_key strings gives the same answer as comparing the instants, whatever their offsets."""
    assert (utc_key(a) < utc_key(b)) == (a < b)
    assert (utc_key(a) == utc_key(b)) == (a == b)


def test_utc_key_is_the_same_for_one_instant_in_two_offsets() -> None:
    """One instant written in market time and in UTC has one key."""
    market = datetime(2026, 7, 1, 10, 0, tzinfo=timezone(timedelta(hours=10)))
    assert utc_key(market) == utc_key(datetime(2026, 7, 1, 0, 0, tzinfo=UTC)) == "2026-07-01T00:00:00.000000+00:00"


def test_a_stored_utc_key_reads_back_as_the_api_timestamp_in_market_time() -> None:
    """What the read models store in UTC comes out in the API's market-time form, with milliseconds."""
    assert iso_from_key("2026-07-01T00:00:00.000000+00:00") == "2026-07-01T10:00:00.000+10:00"
