"""`GET /ssm/v1/schedules/duid` and `/region`: the latest run for each interval, from every accepted roll.

Each accepted roll is kept as a `PublishedRoll`. The index below takes in the rolls accepted since it last
looked, oldest first, and keeps per key (DUID or region) and interval the row of the latest run; a roll
accepted later wins a tie of run times, as a correction re-sent for the same run should.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from exchange.domain.markettime import market_day
from exchange.functions.base import OPERATOR, BoundOperations
from exchange.functions.errors import FieldError, MalformedBodyError, NothingFoundError, RuleViolationError
from exchange.functions.services import Answer, Call, PluginServices
from exchange.functions.ssm.domain import PublishedRoll
from exchange.functions.ssm.rules import REGIONS, timestamp

Row = dict[str, Any]


@dataclass
class _Latest:
    """Per key, per interval: (run time, order of acceptance) and the row that run gave."""

    by_key: dict[str, dict[datetime, tuple[datetime, int, Row]]] = field(default_factory=dict)

    def take(self, key: str, row: Row, order: int) -> None:
        interval, run = timestamp(row["intervalDateTime"]), timestamp(row["runDateTime"])
        assert interval is not None and run is not None  # accepted rows hold valid timestamps
        intervals = self.by_key.setdefault(key, {})
        kept = intervals.get(interval)
        if kept is None or (run, order) >= kept[:2]:
            intervals[interval] = (run, order, row)

    def rows(self, key: str, start: datetime | None, end: datetime | None) -> list[Row]:
        intervals = self.by_key.get(key, {})
        return [
            intervals[moment][2]
            for moment in sorted(intervals)
            if (start is None or moment >= start) and (end is None or moment <= end)
        ]


class Schedules(BoundOperations):
    """The schedule queries, bound to the services the core lends."""

    def __init__(self, services: PluginServices) -> None:
        super().__init__(services)
        self._lock = asyncio.Lock()
        self._taken: set[UUID] = set()
        self._order = 0
        self._duids = _Latest()
        self._regions = _Latest()

    async def duid_schedule(self, call: Call) -> Answer:
        """One DUID's schedule, to its owner (and the operator) only: another's DUID is not found."""
        duid = call.query.get("duid")
        if not duid:
            raise MalformedBodyError("the query needs duid")
        start, end = _window(call)
        unit = await self._services.standing.generating_unit(duid)
        today = market_day(self._services.now())
        if unit is None or (OPERATOR not in call.roles and unit.owner_on(today) != call.participant_id):
            # The same answer for an unknown DUID and another generator's: existence is not revealed.
            raise NothingFoundError(f"no DUID {duid[:10]} of yours")
        await self._catch_up()
        return Answer({"data": self._duids.rows(duid, start, end)})

    async def region_schedule(self, call: Call) -> Answer:
        """The regions' schedules (one region's with `regionId`), to every holder of the entity."""
        region = call.query.get("regionId")
        if region is not None and region not in REGIONS:
            raise RuleViolationError([FieldError("regionId", f"must be one of {', '.join(REGIONS)}")])
        start, end = _window(call)
        await self._catch_up()
        regions = [region] if region else list(REGIONS)
        rows = [row for key in regions for row in self._regions.rows(key, start, end)]
        rows.sort(key=lambda row: (timestamp(row["intervalDateTime"]), row["regionId"]))
        return Answer({"data": rows})

    async def _catch_up(self) -> None:
        """Take in the rolls accepted since the last look; one query at a time, so each is taken once, in order."""
        async with self._lock:
            for roll_id in await self._services.created(PublishedRoll, "Published"):
                if roll_id in self._taken:
                    continue
                roll = await self._services.find(PublishedRoll, roll_id)
                if roll is None:
                    continue
                self._taken.add(roll_id)
                self._order += 1
                latest, key = (self._duids, "duid") if roll.resource_id == "duid" else (self._regions, "regionId")
                for row in roll.rows:
                    latest.take(row[key], row, self._order)


def _window(call: Call) -> tuple[datetime | None, datetime | None]:
    bounds = []
    for name in ("fromDateTime", "toDateTime"):
        # An unencoded `+` of the offset arrives as a space.
        value = (call.query.get(name) or "").replace(" ", "+")
        moment = timestamp(value) if value else None
        if value and moment is None:
            raise MalformedBodyError(f"{name} must be an ISO 8601 timestamp with an offset")
        bounds.append(moment)
    return bounds[0], bounds[1]
