"""Standing data the rules read: participants' roles, nominated certificates, DUIDs and NMI responsibility."""

from __future__ import annotations

from datetime import date

from exchange.domain.participants import Participant
from exchange.domain.standing import GeneratingUnit, MeteringPoint
from exchange.functions.protocol import GeneratingUnitInfo
from exchange.ledger import Ledger


class Directory:
    """Looks participants up in the ledger. Roles never change once registered, so they are cached."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._roles: dict[str, frozenset[str]] = {}

    def participant(self, participant_id: str) -> Participant | None:
        return self._ledger.find(Participant, Participant.create_id(participant_id))

    def roles_of(self, participant_id: str) -> frozenset[str] | None:
        roles = self._roles.get(participant_id)
        if roles is None:
            participant = self.participant(participant_id)
            if participant is None:
                return None  # not cached: it may be registered a moment later, by any process
            roles = self._roles[participant_id] = frozenset(participant.roles)
        return roles

    def nmi_responsible(self, nmi: str, day: date) -> frozenset[str] | None:
        point = self._ledger.find(MeteringPoint, MeteringPoint.create_id(nmi))
        return None if point is None else point.responsible_on(day)

    def generating_unit(self, duid: str) -> GeneratingUnitInfo | None:
        unit = self._ledger.find(GeneratingUnit, GeneratingUnit.create_id(duid))
        if unit is None:
            return None
        return GeneratingUnitInfo(unit.duid, unit.participant_id, unit.station_id, unit.max_capacity_mw)
