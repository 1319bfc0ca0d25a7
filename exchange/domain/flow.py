"""Flow control of one participant's queue for one business function: watermarks, status, manual stop."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from exchange.domain.ids import NAMESPACE


class FlowControl(Aggregate):
    """Created the first time anything changes; until then a queue is Operational with default watermarks."""

    @staticmethod
    def create_id(participant_id: str, business_function_id: str) -> UUID:
        return uuid5(NAMESPACE, f"flow:{participant_id}:{business_function_id}")

    @event("Opened")
    def __init__(self, participant_id: str, business_function_id: str, low: int, warn: int, high: int) -> None:
        self.participant_id = participant_id
        self.business_function_id = business_function_id
        self.low, self.warn, self.high = low, warn, high
        self.status = "Operational"
        self.manual_stop = False
        self.count = 0
        self.since: datetime | None = None
        self.breached_at: datetime | None = None

    @event("WatermarksSet")
    def set_watermarks(self, low: int, warn: int, high: int, at: datetime) -> None:
        self.low, self.warn, self.high = low, warn, high

    def change_status(self, status: str, count: int, at: datetime) -> None:
        self._change(self.participant_id, self.business_function_id, status, self.manual_stop, count, at)

    def switch_delivery(self, stopped: bool, count: int, at: datetime) -> None:
        self._change(self.participant_id, self.business_function_id, self.status, stopped, count, at)

    @event("Changed")
    def _change(
        self, participant_id: str, business_function_id: str, status: str, manual_stop: bool, count: int, at: datetime
    ) -> None:
        """A status change or a manual stop or start; the event carries the whole state after it."""
        if status != "Operational" and self.status == "Operational":
            self.breached_at = at
        self.status = status
        self.manual_stop = manual_stop
        self.count = count
        self.since = at
