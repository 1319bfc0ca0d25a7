"""The exchange's one clock. Tokens, certificates, quotas and retention all read it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from exchange.domain.markettime import market_timestamp


class Clock:
    """Wall-clock time plus an offset that only the test clock moves; the offset survives restarts."""

    def __init__(self, offset_file: Path | None = None) -> None:
        self._offset_file = offset_file
        self._offset = timedelta(0)
        if offset_file is not None and offset_file.exists():
            self._offset = timedelta(seconds=float(offset_file.read_text()))

    def now(self) -> datetime:
        """Whole milliseconds: the API shows milliseconds, so what it filters on must not hide finer ones."""
        moment = datetime.now(UTC) + self._offset
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    def advance(self, seconds: float) -> datetime:
        self._offset += timedelta(seconds=seconds)
        if self._offset_file is not None:
            self._offset_file.write_text(str(self._offset.total_seconds()))
        return self.now()


def iso(moment: datetime) -> str:
    """The API's timestamp form (`2026-07-01T10:00:00.000+10:00`): see `exchange.domain.markettime`."""
    return market_timestamp(moment)


def parse_iso(value: str) -> datetime:
    """An ISO 8601 timestamp with an offset; ValueError otherwise."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return moment


def utc_key(moment: datetime) -> str:
    """A sortable text form for SQL: UTC with fixed microseconds, so string order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def iso_from_key(key: str) -> str:
    """The API's timestamp of a moment stored as a `utc_key`: the read models keep UTC, the API speaks market time."""
    return iso(datetime.fromisoformat(key))
