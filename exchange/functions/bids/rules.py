"""The rules of an energy bid submission (API.md "Energy bids", seed 003), each broken rule named by its path.

Pure: the decoded submission, the caller and the DUIDs' standing data in, the broken rules out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import Any

import msgspec

from exchange.functions.bids.schema import BANDS, PERIODS_PER_DAY, EnergyBid, EnergyPeriod, SubmitBids
from exchange.functions.errors import FieldError
from exchange.functions.protocol import GeneratingUnitInfo

MAX_ERRORS = 100
DIRECTIONS = ("GEN", "LOAD")
HOURS_PER_DAY = 24


def first_errors(errors: Iterable[FieldError], limit: int = MAX_ERRORS) -> list[FieldError]:
    """At most `limit` errors, then a note that more were found."""
    found = list(islice(errors, limit + 1))
    if len(found) <= limit:
        return found
    return [*found[:limit], FieldError("energyBids", f"more errors follow; only the first {limit} are reported")]


def submission_errors(
    submission: SubmitBids, caller: str, units: Mapping[str, GeneratingUnitInfo | None]
) -> Iterator[FieldError]:
    """Every broken rule of a submission by `caller`; `units` holds the standing data of each DUID it names."""
    if not submission.reference_id.strip():
        yield FieldError("referenceId", "must not be blank")
    if not submission.energy_bids:
        yield FieldError("energyBids", "holds no energy bid")
    seen: dict[tuple[str, str], int] = {}
    for index, bid in enumerate(submission.energy_bids):
        path = f"energyBids[{index}]"
        key = (bid.duid, bid.trading_date.isoformat())
        if key in seen:
            yield FieldError(
                f"{path}.tradingDate", f"DUID {bid.duid} on {key[1]} is bid already in energyBids[{seen[key]}]"
            )
        seen.setdefault(key, index)
        yield from bid_errors(bid, path, caller, units.get(bid.duid))


def bid_errors(bid: EnergyBid, path: str, caller: str, unit: GeneratingUnitInfo | None) -> Iterator[FieldError]:
    """The broken rules of one energy bid found at `path`."""
    if unit is None or unit.participant_id != caller:
        # The same answer for an unknown DUID and another generator's: existence is not revealed.
        yield FieldError(f"{path}.duid", f"DUID {bid.duid} is not registered to {caller}")
        unit = None
    if bid.direction not in DIRECTIONS:
        yield FieldError(f"{path}.direction", f"{bid.direction!r} is not GEN or LOAD")
    if len(bid.prices) != BANDS:
        yield FieldError(f"{path}.prices", f"holds {len(bid.prices)} prices where {BANDS} are due")
    for index, price in enumerate(bid.prices):
        if not math.isfinite(price):
            yield FieldError(f"{path}.prices[{index}]", "must be a finite number")
    constraint = bid.daily_energy_constraint
    if constraint is not None:
        if not math.isfinite(constraint) or constraint < 0:
            yield FieldError(f"{path}.dailyEnergyConstraint", "must be a finite number of at least 0")
        elif unit is not None and constraint >= unit.max_capacity_mw * HOURS_PER_DAY:
            ceiling = unit.max_capacity_mw * HOURS_PER_DAY
            yield FieldError(
                f"{path}.dailyEnergyConstraint",
                f"{constraint:g} MWh is not below the DUID's maximum capacity x 24 h ({ceiling:g} MWh)",
            )
    yield from periods_errors(bid.energy_periods, f"{path}.energyPeriods")


def periods_errors(periods: list[EnergyPeriod], path: str) -> Iterator[FieldError]:
    """Exactly one of each five-minute period 1 to 288, in any order, each keeping its own rules."""
    if len(periods) != PERIODS_PER_DAY:
        yield FieldError(path, f"holds {len(periods)} periods where {PERIODS_PER_DAY} are due")
    seen: set[int] = set()
    for index, period in enumerate(periods):
        period_path = f"{path}[{index}]"
        if not 1 <= period.period_id <= PERIODS_PER_DAY:
            yield FieldError(f"{period_path}.periodId", f"{period.period_id} is not a period 1 to {PERIODS_PER_DAY}")
        elif period.period_id in seen:
            yield FieldError(f"{period_path}.periodId", f"period {period.period_id} appears more than once")
        seen.add(period.period_id)
        yield from period_errors(period, period_path)
    missing = sorted(set(range(1, PERIODS_PER_DAY + 1)) - seen)
    if missing and len(periods) == PERIODS_PER_DAY:
        shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
        yield FieldError(path, f"lacks period {shown}")


def period_errors(period: EnergyPeriod, path: str) -> Iterator[FieldError]:
    """The broken rules of one period: quantities finite and not negative, ten bands, a numeric recallPeriod."""
    for name, value in (
        ("maxAvail", period.max_avail),
        ("rampUpRate", period.ramp_up_rate),
        ("rampDownRate", period.ramp_down_rate),
        ("pasaAvail", period.pasa_avail),
        ("fixedLoad", period.fixed_load),
        ("energyLimit", period.energy_limit),
    ):
        if value is not None and not (math.isfinite(value) and value >= 0):
            yield FieldError(f"{path}.{name}", "must be a finite number of at least 0")
    if len(period.band_avail) != BANDS:
        yield FieldError(f"{path}.bandAvail", f"holds {len(period.band_avail)} values where {BANDS} are due")
    for index, value in enumerate(period.band_avail):
        if not (math.isfinite(value) and value >= 0):
            yield FieldError(f"{path}.bandAvail[{index}]", "must be a finite number of at least 0")
    problem = recall_period_problem(period.recall_period)
    if problem is not None:
        yield FieldError(f"{path}.recallPeriod", f"period {period.period_id}: recallPeriod {problem}")


def recall_period_problem(value: Any) -> str | None:
    """Why a present recallPeriod is refused (seed 003), or None when it is absent or a number of hours."""
    if value is msgspec.UNSET:
        return None
    if value is None:
        return "is null; leave it out for the default of 24000 hours"
    if isinstance(value, dict) and isinstance(value.get("unreadable"), str) and len(value) == 1:
        return f"has no value ({value['unreadable']})"
    if isinstance(value, str):
        if "\x00" in value:
            return "is a string holding a NUL character, not a number"
        if not value.strip():
            return "is a blank string, not a number"
        return f"is the string {value!r}, not a number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number of hours, not {type(value).__name__}"
    if not math.isfinite(value) or value < 0:
        return "must be a finite number of hours of at least 0"
    return None
