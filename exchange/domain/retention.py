"""Retention: archive items that outlived their business function's retention, removed by a recorded purge."""

from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate, event


class ArchivePurge(Aggregate):
    """One purge of the outbound archive: which deliveries left it, and why (the cutoff it applied)."""

    @event("Purged")
    def __init__(
        self, business_function_id: str, delivery_ids: list[str], cutoff: datetime, purged_at: datetime
    ) -> None:
        self.business_function_id = business_function_id
        self.delivery_ids = delivery_ids
        self.cutoff = cutoff
        self.purged_at = purged_at
