"""Standing data the rules read: participants' roles and nominations, certificates, DUIDs, NMI responsibility.

Kept in memory and brought up to date from the event store's notification log by `refresh()`: one cheap read
of what changed, instead of a read per participant, certificate and NMI on every submission. A use case
refreshes before it checks anything, so a revocation or a nomination committed by any process before a
submission arrived applies to that submission.
"""

from __future__ import annotations

import threading
import time
from datetime import date
from typing import TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from exchange.domain.certificates import Certificate
from exchange.domain.participants import Client, Participant
from exchange.domain.standing import GeneratingUnit, MeteringPoint
from exchange.domain.topics import topic_of
from exchange.eventstore.ledger import Ledger
from exchange.functions.protocol import GeneratingUnitInfo

A = TypeVar("A", bound=Aggregate)

FOLLOWED: dict[type[Aggregate], tuple[str, ...]] = {
    Participant: ("Registered", "CertificateAdded", "CertificatesNominated", "Suspended", "Reinstated"),
    # Clients are followed so that a revocation applies to live tokens at once, without a read per request.
    Client: ("Registered", "ScopesGranted", "SecretRotated", "Revoked"),
    Certificate: ("Issued", "Renewed", "Reissued", "Revoked"),
    GeneratingUnit: ("Registered", "Changed", "Transferred"),
    MeteringPoint: ("Registered", "ResponsibilityRecorded"),
}


class Directory:
    def __init__(self, ledger: Ledger, batch: int = 1000) -> None:
        self._ledger = ledger
        self._batch = batch
        self._topics = tuple(topic_of(cls, name) for cls, names in FOLLOWED.items() for name in names)
        self._aggregates: dict[UUID, Aggregate] = {}
        self._position = 0
        self._lock = threading.Lock()
        self._refresh_began = float("-inf")

    def refresh(self) -> None:
        """Take in every change to standing data committed so far. Thread-safe.

        Callers that arrive while a refresh runs share the next one: any refresh that began after a caller
        arrived has read everything committed before it arrived.
        """
        arrived = time.monotonic()
        with self._lock:
            if self._refresh_began > arrived:
                return
            self._refresh_began = time.monotonic()
            stop = self._ledger.last_position()
            while self._position < stop:
                changes = self._ledger.notifications(self._position, self._batch, self._topics, stop)
                for aggregate_id in dict.fromkeys(UUID(str(n.originator_id)) for n in changes):
                    self._aggregates[aggregate_id] = self._ledger.repository.get(aggregate_id)
                # Past the last change, nothing up to `stop` concerns standing data: start there next time.
                self._position = changes[-1].id if len(changes) == self._batch else stop

    def participant(self, participant_id: str) -> Participant | None:
        return self._find_fresh(Participant, Participant.create_id(participant_id))

    def client(self, client_id: str) -> Client | None:
        return self._find_fresh(Client, Client.create_id(client_id))

    def clients_of(self, participant_id: str) -> list[Client]:
        """The participant's clients, oldest first."""
        with self._lock:
            aggregates = list(self._aggregates.values())
        clients = [a for a in aggregates if isinstance(a, Client) and a.participant_id == participant_id]
        return sorted(clients, key=lambda client: (client.created_on, client.client_id))

    def certificate(self, serial_number: str) -> Certificate | None:
        return self._find(Certificate, Certificate.create_id(serial_number))

    def revoked_certificates(self) -> list[Certificate]:
        """Every revoked certificate known after the last refresh."""
        with self._lock:
            aggregates = list(self._aggregates.values())
        return [a for a in aggregates if isinstance(a, Certificate) and a.revoked_at is not None]

    def roles_of(self, participant_id: str) -> frozenset[str] | None:
        participant = self.participant(participant_id)
        return None if participant is None else frozenset(participant.roles)

    def holders_of(self, roles: frozenset[str]) -> frozenset[str]:
        with self._lock:
            aggregates = list(self._aggregates.values())
        return frozenset(
            a.participant_id
            for a in aggregates
            if isinstance(a, Participant) and not a.suspended and roles & frozenset(a.roles)
        )

    def nmi_responsible(self, nmi: str, day: date) -> frozenset[str] | None:
        point = self._find(MeteringPoint, MeteringPoint.create_id(nmi))
        return None if point is None else point.responsible_on(day)

    def nmi_network(self, nmi: str, day: date) -> str | None:
        point = self._find(MeteringPoint, MeteringPoint.create_id(nmi))
        return None if point is None else point.network_on(day)

    def generating_unit(self, duid: str) -> GeneratingUnitInfo | None:
        unit = self._find(GeneratingUnit, GeneratingUnit.create_id(duid))
        if unit is None:
            return None
        return unit_info(unit)

    def generating_units(self) -> list[GeneratingUnitInfo]:
        """Every DUID known after the last refresh, by DUID."""
        with self._lock:
            aggregates = list(self._aggregates.values())
        return sorted((unit_info(a) for a in aggregates if isinstance(a, GeneratingUnit)), key=lambda u: u.duid)

    def _find_fresh(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """The aggregate, refreshing first when it is not known yet: perhaps added a moment ago, by any process."""
        found = self._find(cls, aggregate_id)
        if found is None:
            self.refresh()
            found = self._find(cls, aggregate_id)
        return found

    def _find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        found = self._aggregates.get(aggregate_id)
        return found if isinstance(found, cls) else None


def unit_info(unit: GeneratingUnit) -> GeneratingUnitInfo:
    transfers = tuple((date.fromisoformat(t["fromDate"]), t["participantId"]) for t in unit.transfers)
    return GeneratingUnitInfo(unit.duid, unit.participant_id, unit.station_id, unit.max_capacity_mw, transfers)
