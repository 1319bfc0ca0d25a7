"""In-memory fakes of what the core lends a business function: standing data and `PluginServices`.

Plugins with operations of their own are tested through these in-process; the real ones are exercised end to
end against `idx serve`.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from exchange.domain.markettime import MARKET_TIME
from exchange.functions.protocol import AsyncStandingData, GeneratingUnitInfo
from exchange.functions.services import AcceptedMessage, AcceptedQuery, Delivered, Outbound

A = TypeVar("A", bound=Aggregate)


@dataclass
class FakeStandingData:
    """Participants, DUIDs and NMI records in memory."""

    participants: dict[str, frozenset[str]] = field(default_factory=dict)
    units: dict[str, GeneratingUnitInfo] = field(default_factory=dict)

    def add_unit(self, duid: str, owner: str, station: str = "STATION1", max_capacity_mw: float = 700.0) -> None:
        self.participants.setdefault(owner, frozenset({"GENERATOR"}))
        self.units[duid] = GeneratingUnitInfo(duid, owner, station, max_capacity_mw)

    def roles_of(self, participant_id: str) -> frozenset[str] | None:
        return self.participants.get(participant_id)

    def holders_of(self, roles: frozenset[str]) -> frozenset[str]:
        return frozenset(p for p, held in self.participants.items() if held & roles)

    def nmi_responsible(self, nmi: str, day: date) -> frozenset[str] | None:
        return None

    def nmi_network(self, nmi: str, day: date) -> str | None:
        return None

    def generating_unit(self, duid: str) -> GeneratingUnitInfo | None:
        return self.units.get(duid)


class AsyncStanding:
    """Fake standing data as operations ask it (awaited)."""

    def __init__(self, standing: FakeStandingData) -> None:
        self._standing = standing

    async def roles_of(self, participant_id: str) -> frozenset[str] | None:
        return self._standing.roles_of(participant_id)

    async def nmi_responsible(self, nmi: str, day: date) -> frozenset[str] | None:
        return self._standing.nmi_responsible(nmi, day)

    async def nmi_network(self, nmi: str, day: date) -> str | None:
        return self._standing.nmi_network(nmi, day)

    async def generating_unit(self, duid: str) -> GeneratingUnitInfo | None:
        return self._standing.generating_unit(duid)


class FakeServices:
    """An event store of aggregates and a list of delivered messages; the clock moves a second per call."""

    def __init__(self, standing: FakeStandingData | None = None) -> None:
        self.fake_standing = standing or FakeStandingData()
        self.aggregates: dict[UUID, Aggregate] = {}
        self.created_with: list[tuple[type[Aggregate], UUID]] = []
        self.delivered: list[Outbound] = []
        # Messages accepted through the generic POST (`accept_message`), oldest first.
        self.accepted_messages: list[tuple[Outbound, AcceptedMessage]] = []
        self.clock = datetime(2026, 7, 1, 9, 0, tzinfo=MARKET_TIME)

    @property
    def standing(self) -> AsyncStandingData:
        return AsyncStanding(self.fake_standing)

    def now(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    async def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        found = self.aggregates.get(aggregate_id)
        if found is None:
            return None
        assert isinstance(found, cls)
        return copy.deepcopy(found)

    async def created(self, cls: type[Aggregate], event_name: str) -> list[UUID]:
        return [aggregate_id for kind, aggregate_id in self.created_with if kind is cls]

    async def save(self, *aggregates: Aggregate) -> None:
        for aggregate in aggregates:
            events = aggregate.collect_events()
            if aggregate.id not in self.aggregates:
                self.created_with.append((type(aggregate), aggregate.id))
            if events:
                self.aggregates[aggregate.id] = copy.deepcopy(aggregate)

    async def deliver(self, outbound: Outbound, *aggregates: Aggregate) -> Delivered:
        await self.save(*aggregates)
        self.delivered.append(outbound)
        digest = hashlib.sha256(outbound.payload).hexdigest()
        return Delivered(outbound.message_context_id, self.clock.isoformat(), digest, "receipt")

    def accept_message(self, outbound: Outbound) -> None:
        """Record a message as the core records an accepted submission, for `accepted` to list."""
        position = len(self.accepted_messages) + 1
        listed = AcceptedMessage(outbound.message_context_id, outbound.sender_id, self.now(), position)
        self.accepted_messages.append((outbound, listed))

    async def accepted(self, query: AcceptedQuery) -> list[AcceptedMessage]:
        found = [
            listed
            for outbound, listed in reversed(self.accepted_messages)
            if (outbound.business_function_id, outbound.resource_id) == (query.business_function_id, query.resource_id)
            and query.recipient in outbound.recipients
            and (query.before is None or listed.position < query.before)
        ]
        return found[: query.limit]

    async def payload(self, message_context_id: str) -> bytes | None:
        found = [o.payload for o, _ in self.accepted_messages if o.message_context_id == message_context_id]
        found += [o.payload for o in self.delivered if o.message_context_id == message_context_id]
        return found[0] if found else None


def two_generators(duid1_mw: float) -> FakeStandingData:
    """GEN1 owns DUID1 (`duid1_mw` at STATION1) and DUID2 (300 MW at STATION2); GEN2 owns DUID3; and the operator."""
    data = FakeStandingData()
    data.add_unit("DUID1", "GEN1", "STATION1", duid1_mw)
    data.add_unit("DUID2", "GEN1", "STATION2", 300.0)
    data.add_unit("DUID3", "GEN2", "STATION3", 500.0)
    data.participants["OPERATOR"] = frozenset({"OPERATOR"})
    return data
