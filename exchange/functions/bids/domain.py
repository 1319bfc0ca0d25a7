"""Energy bids as aggregates: one per DUID and trading day, every accepted bid a new version (the last wins).

Each version's event carries the whole bid as stored (recallPeriod defaults filled in), so the event store keeps
every version; the aggregate's state keeps the latest bid and the history of versions.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = UUID("5b8d2f6e-1c7a-4f0e-8e61-2b9a7c3d4e10")

BidVersion = dict[str, Any]


class EnergyBidDay(Aggregate):
    """The bids of one DUID for one trading day."""

    @staticmethod
    def create_id(duid: str, trading_date: str) -> UUID:
        return uuid5(NAMESPACE, f"energy-bid:{duid}:{trading_date}")

    @event("Bid")
    def __init__(self, duid: str, trading_date: str, version: BidVersion) -> None:
        self.duid = duid
        self.trading_date = trading_date
        self.latest: BidVersion = version
        self.history: list[dict[str, Any]] = [_meta(version)]

    @event("Rebid")
    def rebid(self, version: BidVersion) -> None:
        self.latest = version
        self.history = [*self.history, _meta(version)]

    @property
    def next_version(self) -> int:
        return len(self.history) + 1


def _meta(version: BidVersion) -> dict[str, Any]:
    return {key: version[key] for key in ("version", "versionDateTime", "referenceId")}
