"""The rules of an SSM indicative roll, each broken rule named by its path.

Pure: the decoded transactions, the message's recipients and standing data in, the broken rules out. The checks
are generators so that a roll full of bad rows costs only the errors that are reported (`first_errors`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, Final, TypeVar

from exchange.domain.markettime import market_day
from exchange.functions.errors import FieldError
from exchange.functions.protocol import StandingData
from exchange.functions.ssm.schema import DuidRow, DuidTransaction, RegionRow, RegionTransaction

# The transactions of a roll, of either resource.
Roll = TypeVar("Roll", DuidTransaction, RegionTransaction)

REGIONS: Final = ("NSW1", "QLD1", "SA1", "TAS1", "VIC1")
# How the scheduler marks a DUID for an interval: enabled for system security, or not.
ENABLEMENT_STATUSES: Final = ("ENABLED", "NOT_ENABLED")
INTERVAL_MINUTES: Final = 5
# Every number and string is bounded, so that nothing absurd is stored and delivered. MW: no NEM unit or region
# requirement comes near 10 GW (the largest unit is some 750 MW, a region's whole demand some 14 GW at its peak is
# never a system-strength requirement).
MAX_MW: Final = 10_000.0
MAX_DUID_LENGTH: Final = 10
MAX_TRANSACTION_ID_LENGTH: Final = 100
# A roll covers a day or two of 5-minute intervals for every enabled unit: 100,000 rows is far beyond one.
MAX_ROWS: Final = 100_000


def timestamp(value: str) -> datetime | None:
    """An ISO 8601 date-time with its offset, or None."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def on_interval_boundary(moment: datetime) -> bool:
    return moment.minute % INTERVAL_MINUTES == 0 and moment.second == 0 and moment.microsecond == 0


def duid_roll_errors(
    transactions: Sequence[DuidTransaction], roll_type: str, recipients: Sequence[str], standing: StandingData
) -> Iterator[FieldError]:
    """Every broken rule of a DUID roll: its one recipient must own every DUID in it."""
    if len(recipients) != 1:
        yield FieldError(
            "data.header.receivingParticipantId",
            f"names {len(recipients)} recipients; a DUID roll goes to one, the owner of its DUIDs "
            "(`idx publish` splits a roll by owner)",
        )
    owner = recipients[0] if len(recipients) == 1 else None
    yield from _roll_errors(
        transactions, roll_type, lambda row, path: _duid_row_errors(row, path, owner, standing), lambda row: row.duid
    )


def region_roll_errors(transactions: Sequence[RegionTransaction], roll_type: str) -> Iterator[FieldError]:
    """Every broken rule of a region roll (it goes to every recipient, so none concerns them)."""
    yield from _roll_errors(transactions, roll_type, _region_row_errors, lambda row: row.region_id)


def _roll_errors(
    transactions: Sequence[Roll],
    roll_type: str,
    row_errors: Callable[[Any, str], Iterator[FieldError]],
    subject: Callable[[Any], str],
) -> Iterator[FieldError]:
    """The rules of every roll: each transaction's type, id and size, each row's own rules (`row_errors`), and no
    row twice for the same subject (a DUID or a region), run and interval."""
    seen: dict[tuple[str, datetime, datetime], str] = {}
    for t_index, transaction in enumerate(transactions):
        path = f"data.transactions[{t_index}]"
        yield from _transaction_errors(transaction.transaction_type, roll_type, transaction.transaction_id, path)
        yield from _rows_count_errors(len(transaction.rows), path)
        for index, row in enumerate(transaction.rows):
            row_path = f"{path}.rows[{index}]"
            yield from row_errors(row, row_path)
            yield from _repeated(seen, subject(row), row.run_date_time, row.interval_date_time, row_path)


def no_transactions(count: int) -> Iterator[FieldError]:
    if count == 0:
        yield FieldError("data.transactions", "holds no transaction")


def _transaction_errors(found: str, wanted: str, transaction_id: str | None, path: str) -> Iterator[FieldError]:
    if found != wanted:
        yield FieldError(f"{path}.transactionType", f"must be {wanted} for this resource")
    if transaction_id is not None and not 1 <= len(transaction_id.strip()) <= MAX_TRANSACTION_ID_LENGTH:
        yield FieldError(f"{path}.transactionId", f"must be 1 to {MAX_TRANSACTION_ID_LENGTH} characters")


def _rows_count_errors(count: int, path: str) -> Iterator[FieldError]:
    if count == 0:
        yield FieldError(f"{path}.rows", "holds no row")
    elif count > MAX_ROWS:
        yield FieldError(f"{path}.rows", f"holds {count:,} rows; at most {MAX_ROWS:,} fit one roll")


def _times_errors(run: str, interval: str, path: str) -> Iterator[FieldError]:
    if timestamp(run) is None:
        yield FieldError(f"{path}.runDateTime", "must be an ISO 8601 timestamp with an offset")
    moment = timestamp(interval)
    if moment is None:
        yield FieldError(f"{path}.intervalDateTime", "must be an ISO 8601 timestamp with an offset")
    elif not on_interval_boundary(moment):
        yield FieldError(f"{path}.intervalDateTime", f"must fall on a {INTERVAL_MINUTES}-minute boundary")


def _mw_errors(value: float, path: str) -> Iterator[FieldError]:
    # Written so that NaN fails too.
    if not 0 <= value <= MAX_MW:
        yield FieldError(path, f"must be 0 to {MAX_MW:,.0f} MW")


def _duid_row_errors(row: DuidRow, path: str, owner: str | None, standing: StandingData) -> Iterator[FieldError]:
    if not 1 <= len(row.duid) <= MAX_DUID_LENGTH:
        yield FieldError(f"{path}.duid", f"must be 1 to {MAX_DUID_LENGTH} characters")  # not echoed: unbounded
    else:
        unit = standing.generating_unit(row.duid)
        if unit is None:
            yield FieldError(f"{path}.duid", f"DUID {row.duid} is not registered")
        elif owner is not None and (moment := timestamp(row.interval_date_time)) is not None:
            # Ownership changes from a date (a transfer): the owner that counts is the one on the interval's day.
            owner_then = unit.owner_on(market_day(moment))
            if owner_then != owner:
                # The operator sends; it may learn who owns a DUID, so the refusal says why.
                yield FieldError(f"{path}.duid", f"DUID {row.duid} is not {owner}'s (it is {owner_then}'s)")
    yield from _times_errors(row.run_date_time, row.interval_date_time, path)
    if row.enablement_status not in ENABLEMENT_STATUSES:
        yield FieldError(f"{path}.enablementStatus", f"must be one of {', '.join(ENABLEMENT_STATUSES)}")
    yield from _mw_errors(row.enablement_mw, f"{path}.enablementMW")


def _region_row_errors(row: RegionRow, path: str) -> Iterator[FieldError]:
    if row.region_id not in REGIONS:
        yield FieldError(f"{path}.regionId", f"must be one of {', '.join(REGIONS)}")
    yield from _times_errors(row.run_date_time, row.interval_date_time, path)
    yield from _mw_errors(row.requirement_mw, f"{path}.requirementMW")
    yield from _mw_errors(row.enabled_mw, f"{path}.enabledMW")


def _repeated(
    seen: dict[tuple[str, datetime, datetime], str], key: str, run: str, interval: str, path: str
) -> Iterator[FieldError]:
    """One row per key, interval and run in a roll: a second one would leave the schedule ambiguous."""
    run_at, interval_at = timestamp(run), timestamp(interval)
    if run_at is None or interval_at is None:
        return
    found = seen.setdefault((key, interval_at, run_at), path)
    if found != path:
        yield FieldError(path, f"repeats {found}: the same key, interval and run")
