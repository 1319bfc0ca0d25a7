"""Outages the market operator announces to participants (sent as `outage` notifications)."""

from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate, event


class Outage(Aggregate):
    """One announcement: a planned or unplanned outage of the exchange, in the operator's words."""

    @event("Announced")
    def __init__(self, detail: str, announced_at: datetime) -> None:
        self.detail = detail
        self.announced_at = announced_at
