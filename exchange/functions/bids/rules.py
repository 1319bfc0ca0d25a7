"""The rules of an energy bid submission, each broken rule named by its path.

Pure: the decoded submission, the caller and the DUIDs' standing data in, the broken rules out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import msgspec

from exchange.functions.bids.schema import BANDS, PERIODS_PER_DAY, EnergyBid, EnergyPeriod, SubmitBids
from exchange.functions.errors import FieldError
from exchange.functions.errors import first_errors as capped
from exchange.functions.protocol import GeneratingUnitInfo

MAX_ERRORS = 100
DIRECTIONS = ("GEN", "LOAD")
HOURS_PER_DAY = 24

# Every number and string of a bid is bounded, so that nothing absurd is stored and
# delivered to the operator. Prices: from the NEM's market price floor (-1,000 $/MWh) to 25,000 $/MWh, above the
# market price cap (20,300 $/MWh for 2025-26) with room for its yearly indexation.
PRICE_FLOOR = -1000.0
PRICE_CEILING = 25_000.0
# Quantities in MW (availabilities, fixed load) and ramp rates in MW/min: no NEM unit comes near 10 GW (the
# largest is some 750 MW), and the standing data registers no unit larger (exchange.services.standing_data).
MAX_MW = 10_000.0
# An energy limit or daily constraint in MWh: a day at the largest capacity.
MAX_MWH = MAX_MW * HOURS_PER_DAY
# Hours: AEMO's recall period rules store an absent recallPeriod as 24,000 hours, the longest it knows.
MAX_RECALL_PERIOD_HOURS = 24_000
MAX_DUID_LENGTH = 10
MAX_REFERENCE_ID_LENGTH = 100
MAX_AUTHORISED_BY_LENGTH = 100
MAX_COMMENTS_LENGTH = 1000
# AEMO caps a rebid explanation at 500 characters.
MAX_REBID_EXPLANATION_LENGTH = 500


def first_errors(errors: Iterable[FieldError], limit: int = MAX_ERRORS) -> list[FieldError]:
    """At most `limit` errors, then a note that more were found."""
    return capped(errors, limit, note_on="energyBids")


def submission_errors(
    submission: SubmitBids, caller: str, units: Mapping[str, GeneratingUnitInfo | None]
) -> Iterator[FieldError]:
    """Every broken rule of a submission by `caller`; `units` holds the standing data of each DUID it names."""
    if not submission.reference_id.strip():
        yield FieldError("referenceId", "must not be blank")
    yield from _length_errors(
        (
            ("referenceId", submission.reference_id, MAX_REFERENCE_ID_LENGTH),
            ("comments", submission.comments, MAX_COMMENTS_LENGTH),
            ("authorisedBy", submission.authorised_by, MAX_AUTHORISED_BY_LENGTH),
        )
    )
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
    if len(bid.duid) > MAX_DUID_LENGTH:
        # Not echoed: it may be megabytes.
        yield FieldError(f"{path}.duid", f"must be at most {MAX_DUID_LENGTH} characters")
        unit = None
    elif unit is None or unit.owner_on(bid.trading_date) != caller:
        # The same answer for an unknown DUID and another generator's: existence is not revealed. A bid is the
        # business of whoever owns the DUID on the trading day it bids for.
        yield FieldError(f"{path}.duid", f"DUID {bid.duid} is not registered to {caller}")
        unit = None
    if bid.direction not in DIRECTIONS:
        yield FieldError(f"{path}.direction", f"{bid.direction!r} is not GEN or LOAD")
    if len(bid.prices) != BANDS:
        yield FieldError(f"{path}.prices", f"holds {len(bid.prices)} prices where {BANDS} are due")
    for index, price in enumerate(bid.prices):
        # Written so that NaN fails too.
        if not PRICE_FLOOR <= price <= PRICE_CEILING:
            yield FieldError(f"{path}.prices[{index}]", f"must be {PRICE_FLOOR:,.0f} to {PRICE_CEILING:,.0f} $/MWh")
    yield from _length_errors(((f"{path}.rebidExplanation", bid.rebid_explanation, MAX_REBID_EXPLANATION_LENGTH),))
    constraint = bid.daily_energy_constraint
    if constraint is not None:
        if not 0 <= constraint <= MAX_MWH:
            yield FieldError(f"{path}.dailyEnergyConstraint", f"must be 0 to {MAX_MWH:,.0f} MWh")
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
    """The broken rules of one period: quantities in range, ten bands, a numeric recallPeriod in range."""
    for name, value, most, unit in (
        ("maxAvail", period.max_avail, MAX_MW, "MW"),
        ("rampUpRate", period.ramp_up_rate, MAX_MW, "MW/min"),
        ("rampDownRate", period.ramp_down_rate, MAX_MW, "MW/min"),
        ("pasaAvail", period.pasa_avail, MAX_MW, "MW"),
        ("fixedLoad", period.fixed_load, MAX_MW, "MW"),
        ("energyLimit", period.energy_limit, MAX_MWH, "MWh"),
    ):
        # Written so that NaN fails too.
        if value is not None and not 0 <= value <= most:
            yield FieldError(f"{path}.{name}", f"must be 0 to {most:,.0f} {unit}")
    if len(period.band_avail) != BANDS:
        yield FieldError(f"{path}.bandAvail", f"holds {len(period.band_avail)} values where {BANDS} are due")
    for index, value in enumerate(period.band_avail):
        if not 0 <= value <= MAX_MW:
            yield FieldError(f"{path}.bandAvail[{index}]", f"must be 0 to {MAX_MW:,.0f} MW")
    problem = recall_period_problem(period.recall_period)
    if problem is not None:
        yield FieldError(f"{path}.recallPeriod", f"period {period.period_id}: recallPeriod {problem}")


def recall_period_problem(value: Any) -> str | None:
    """Why AEMO's recall period rules refuse a present recallPeriod, or None when it is absent or a number of hours."""
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
    if not 0 <= value <= MAX_RECALL_PERIOD_HOURS:
        return f"must be a number of hours of at least 0 and at most {MAX_RECALL_PERIOD_HOURS:,}"
    return None


def _length_errors(fields: Iterable[tuple[str, str | None, int]]) -> Iterator[FieldError]:
    """Each string longer than its bound (a missing optional one is fine)."""
    for path, value, most in fields:
        if value is not None and len(value) > most:
            yield FieldError(path, f"must be at most {most:,} characters")
