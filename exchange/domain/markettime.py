"""Market time: the NEM keeps Australian Eastern Standard Time (UTC+10) all year, with no daylight saving.

Market days (daily quotas, manual-switch allowances, recall-plan days) start at midnight market time, and the
API writes every timestamp in market time.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta, timezone

MARKET_TIME = timezone(timedelta(hours=10), "AEST")


def market_day(moment: datetime) -> date:
    """The market calendar day of an aware datetime."""
    return moment.astimezone(MARKET_TIME).date()


def seconds_until_next_market_day(now: datetime) -> float:
    """Seconds from `now` to the next market midnight, at least 1 (a `Retry-After` of 0 invites a retry storm)."""
    midnight = datetime.combine(market_day(now) + timedelta(days=1), time(), MARKET_TIME)
    return float(max(1, math.ceil((midnight - now).total_seconds())))


def market_timestamp(moment: datetime) -> str:
    """The API's timestamp form: market time, milliseconds and offset (`2026-07-01T10:00:00.000+10:00`)."""
    return moment.astimezone(MARKET_TIME).isoformat(timespec="milliseconds")
