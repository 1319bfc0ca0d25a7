"""Flow-control history: a projection of every status change and manual stop or start, and its search."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from exchange.domain.flow import FlowControl
from exchange.domain.topics import topic_of
from exchange.kernel.clock import utc_key
from exchange.kernel.projections import OneRowPerEvent
from exchange.readmodels.projector import Projector
from exchange.readmodels.views import ViewsConnection


@dataclass(frozen=True)
class FlowChange:
    participant_id: str
    business_function_id: str
    message_status: str
    manual_stop: bool
    message_count: int
    changed_at: datetime


class FlowHistoryProjection(OneRowPerEvent):
    """Keeps `flow_history` equal to the `FlowControl.Changed` events, one row per event keyed by its position."""

    name = "flow_history"
    schema = """
CREATE TABLE IF NOT EXISTS flow_history (
    position INTEGER PRIMARY KEY,
    participant_id TEXT NOT NULL,
    business_function_id TEXT NOT NULL,
    status TEXT NOT NULL,
    manual_stop INTEGER NOT NULL,
    count INTEGER NOT NULL,
    changed_at TEXT NOT NULL
);
-- Searches name a participant more often than not, and read oldest first.
CREATE INDEX IF NOT EXISTS flow_history_participant ON flow_history (participant_id, business_function_id, position);
"""
    topics = (topic_of(FlowControl, "Changed"),)

    def row(self, position: int, event: Any) -> tuple[Any, ...]:
        return (
            position,
            event.participant_id,
            event.business_function_id,
            event.status,
            int(event.manual_stop),  # PostgreSQL keeps no bool in an integer column
            event.count,
            utc_key(event.at),
        )


class FlowHistory:
    """The search over flow-control history, up to date with everything committed before it is asked."""

    def __init__(self, db: ViewsConnection, projector: Projector) -> None:
        self._db = db
        self._projector = projector

    async def search(
        self,
        participant_id: str | None = None,
        business_function_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[FlowChange]:
        """The changes that match every filter given, oldest first (in the order they were recorded)."""
        where, params = ["1 = 1"], []
        for column, value in (("participant_id", participant_id), ("business_function_id", business_function_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if start is not None:
            where.append("changed_at >= ?")
            params.append(utc_key(start))
        if end is not None:
            where.append("changed_at <= ?")
            params.append(utc_key(end))
        await self._projector.wait_for_latest()
        sql = (
            "SELECT participant_id, business_function_id, status, manual_stop, count, changed_at "  # noqa: S608
            f"FROM flow_history WHERE {' AND '.join(where)} ORDER BY position"  # only fixed column names
        )
        async with self._db.execute(sql, params) as cursor:
            rows = await cursor.fetchall()
        return [
            FlowChange(row[0], row[1], row[2], bool(row[3]), row[4], datetime.fromisoformat(row[5])) for row in rows
        ]
