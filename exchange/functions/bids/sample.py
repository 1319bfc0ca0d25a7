"""Valid energy bids (submitBids bodies) for tests, the README and the simulators."""

from __future__ import annotations

import math
from typing import Any

import msgspec

from exchange.functions.bids.schema import BANDS, PERIODS_PER_DAY

PRICES = [-1000.0, 0.0, 35.5, 60.0, 95.0, 150.0, 300.0, 1000.0, 5000.0, 17500.0]


def sample_energy_bid(
    duid: str, *, trading_date: str = "2026-07-01", max_avail: float = 300.0, recall_period: int | None = 2
) -> dict[str, Any]:
    """One DUID's bid for a day: 288 periods shaped by a daily load curve; `recall_period` None leaves it out."""
    periods = []
    for period_id in range(1, PERIODS_PER_DAY + 1):
        hour = 24.0 * (period_id - 1) / PERIODS_PER_DAY
        avail = round(max_avail * (0.7 + 0.3 * math.sin(math.pi * (hour - 6.0) / 12.0) ** 2), 1)
        bands = [round(avail / BANDS, 1)] * BANDS
        period: dict[str, Any] = {
            "periodId": period_id,
            "maxAvail": avail,
            "bandAvail": bands,
            "rampUpRate": 120.0,
            "rampDownRate": 120.0,
            "pasaAvail": max_avail,
        }
        if recall_period is not None:
            period["recallPeriod"] = recall_period
        periods.append(period)
    return {
        "tradingDate": trading_date,
        "duid": duid,
        "direction": "GEN",
        "prices": list(PRICES),
        "dailyEnergyConstraint": round(max_avail * 12, 1),
        "energyPeriods": periods,
    }


def sample_bids(duids: list[str], *, reference_id: str = "REF-0001", **options: Any) -> dict[str, Any]:
    """A valid submitBids body bidding each of `duids` (fits DUIDs of at least `max_avail` MW)."""
    return {
        "referenceId": reference_id,
        "comments": "daily bid",
        "authorisedBy": "Trader One",
        "energyBids": [sample_energy_bid(duid, **options) for duid in duids],
    }


def sample_body(duids: list[str], **options: Any) -> bytes:
    """`sample_bids` as the JSON bytes of a submitBids request."""
    return msgspec.json.encode(sample_bids(duids, **options))
