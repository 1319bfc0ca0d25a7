"""Valid SSM indicative rolls for `idx sample`, tests, the README and the simulator.

A run at `run` schedules the `intervals` five-minute intervals that follow it; the MW follow a smooth daily
shape, so that a chart of them looks like a schedule, and `seed` varies them from run to run.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import msgspec

from exchange.functions.envelope import sample_header
from exchange.functions.ssm.rules import INTERVAL_MINUTES, REGIONS
from exchange.functions.ssm.schema import DUID_ROLL, REGION_ROLL

DEFAULT_RUN = "2026-10-28T04:00:00+10:00"


def interval_times(run: str, intervals: int) -> list[str]:
    """The `intervals` five-minute interval starts after the run (the first at or after it), as ISO timestamps."""
    start = datetime.fromisoformat(run)
    skip = (-start.minute) % INTERVAL_MINUTES
    first = start.replace(second=0, microsecond=0) + timedelta(minutes=skip)
    return [(first + timedelta(minutes=INTERVAL_MINUTES * i)).isoformat() for i in range(intervals)]


def _shape(moment: str, rng: random.Random, peak: float) -> float:
    at = datetime.fromisoformat(moment)
    hour = at.hour + at.minute / 60
    # Security services are most needed overnight, when few synchronous units run.
    load = 0.6 + 0.4 * math.cos(math.pi * (hour - 3.0) / 12.0)
    return round(max(0.0, peak * load + rng.gauss(0.0, peak * 0.03)), 1)


def _rows(
    keys: list[str], run: str, intervals: int, seed: int, peak: float, row: Callable[[str, str, float], dict[str, Any]]
) -> list[dict[str, Any]]:
    """A row of the run per key and interval, `row(key, interval, mw)`, the MW shaped by the time of day to `peak`."""
    rng = random.Random(seed)
    return [
        {"runDateTime": run, **row(key, moment, _shape(moment, rng, peak))}
        for key in keys
        for moment in interval_times(run, intervals)
    ]


def duid_rows(duids: list[str], *, run: str = DEFAULT_RUN, intervals: int = 12, seed: int = 0) -> list[dict[str, Any]]:
    def row(duid: str, moment: str, mw: float) -> dict[str, Any]:
        enabled = mw >= 60.0
        return {
            "duid": duid,
            "intervalDateTime": moment,
            "enablementStatus": "ENABLED" if enabled else "NOT_ENABLED",
            "enablementMW": mw if enabled else 0.0,
        }

    return _rows(duids, run, intervals, seed, 120.0, row)


def region_rows(
    regions: list[str] | None = None, *, run: str = DEFAULT_RUN, intervals: int = 12, seed: int = 0
) -> list[dict[str, Any]]:
    def row(region: str, moment: str, requirement: float) -> dict[str, Any]:
        return {
            "regionId": region,
            "intervalDateTime": moment,
            "requirementMW": requirement,
            "enabledMW": round(requirement * 0.95, 1),
        }

    return _rows(regions or list(REGIONS), run, intervals, seed, 400.0, row)


def roll_envelope(
    sender: str, recipients: list[str], resource_id: str, rows: list[dict[str, Any]], *, run: str = DEFAULT_RUN
) -> dict[str, Any]:
    """The envelope of one roll of `resource_id` (`duid` or `region`) from the operator."""
    header = sample_header(sender, recipients, "ssm", resource_id, message_id=str(uuid.uuid4()), sent=run)
    transaction = {
        "transactionId": f"T{uuid.uuid4().hex[:12]}",
        "transactionType": DUID_ROLL if resource_id == "duid" else REGION_ROLL,
        "transactionDateTime": run,
        "rows": rows,
    }
    return {"data": {"header": header, "transactions": [transaction]}}


def region_body(sender: str, recipients: list[str], **options: Any) -> bytes:
    """A region roll (every region unless `regions` is given) as the JSON bytes the operator signs and sends."""
    regions = options.pop("regions", None) or None
    run = options.get("run", DEFAULT_RUN)
    rows = region_rows(regions, **options)
    return msgspec.json.encode(roll_envelope(sender, list(recipients) or ["*"], "region", rows, run=run))


def duid_body(sender: str, recipients: list[str], duids: list[str], **options: Any) -> bytes:
    """A DUID roll of `duids` as JSON bytes (send it to their owner, or give it to `idx publish` to split)."""
    run = options.get("run", DEFAULT_RUN)
    return msgspec.json.encode(roll_envelope(sender, recipients, "duid", duid_rows(duids, **options), run=run))
