"""The AEMO `submitBids` body as msgspec types, and the reader that names the field of the first type error.

`recallPeriod` is decoded as whatever it is (`Any`, UNSET when absent) because AEMO's recall period rules reject a
present recallPeriod of any other kind than a number, naming the period: the rule lives in `rules.py`, not in a type.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import msgspec

from exchange.functions.bids.lenient import repaired
from exchange.functions.errors import FieldError, MalformedBodyError, RuleViolationError, field_error_from_msgspec

PERIODS_PER_DAY = 288
BANDS = 10
# Where AEMO's recall period rules say an absent recallPeriod is stored as (hours).
DEFAULT_RECALL_PERIOD = 24000


class EnergyPeriod(msgspec.Struct, rename="camel", omit_defaults=True):
    """One five-minute period of an energy bid."""

    period_id: int
    max_avail: float
    band_avail: list[float]
    ramp_up_rate: float
    ramp_down_rate: float
    recall_period: Any = msgspec.UNSET
    pasa_avail: float | None = None
    fixed_load: float | None = None
    energy_limit: float | None = None


class EnergyBid(msgspec.Struct, rename="camel", omit_defaults=True):
    """One DUID's bid for one trading day."""

    trading_date: date
    duid: str
    direction: str
    prices: list[float]
    energy_periods: list[EnergyPeriod]
    fast_start_profile: Any = None
    daily_energy_constraint: float | None = None
    rebid_explanation: str | None = None


class SubmitBids(msgspec.Struct, rename="camel", omit_defaults=True):
    """A `submitBids` request: one or more energy bids under the sender's reference."""

    reference_id: str
    energy_bids: list[EnergyBid]
    comments: str | None = None
    authorised_by: str | None = None


DECODER = msgspec.json.Decoder(SubmitBids)
_MISSING = re.compile(r"^Object missing required field `(?P<name>[^`]+)`$")


def read_submission(body: bytes) -> SubmitBids:
    """The body as a SubmitBids; MalformedBodyError when it is not JSON, RuleViolationError naming a bad field."""
    try:
        body.decode("utf-8")  # msgspec checks UTF-8 only in the strings it keeps
        return _decode(body)
    except msgspec.DecodeError as error:
        # A recallPeriod with no JSON value at all (blank, a tab, a NUL) must still name its period.
        fixed = repaired(body)
        if fixed is None:
            raise MalformedBodyError(f"the body is not JSON: {error}") from error
        try:
            return _decode(fixed)
        except msgspec.DecodeError:
            raise MalformedBodyError(f"the body is not JSON: {error}") from error
    except UnicodeDecodeError as error:
        raise MalformedBodyError(f"the body is not UTF-8: {error}") from error


def _decode(body: bytes) -> SubmitBids:
    try:
        return DECODER.decode(body)
    except msgspec.ValidationError as error:  # a subclass of DecodeError: a type error, not bad JSON
        raise RuleViolationError([_field_error(error)]) from error


def _field_error(error: msgspec.ValidationError) -> FieldError:
    named = field_error_from_msgspec(error)
    missing = _MISSING.match(named.message)
    if missing is None:
        return named
    parent = "" if named.field == "$" else f"{named.field}."
    return FieldError(f"{parent}{missing.group('name')}", "is required")
