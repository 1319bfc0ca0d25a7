"""Standing data the business rules read: generating units (DUIDs) and who answers for an NMI from when."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from exchange.domain.ids import NAMESPACE


class GeneratingUnit(Aggregate):
    """A DUID: its owner, its station and its registered maximum capacity.

    Ownership may pass to another generator from a date (`transfer`); `participant_id` stays the owner it was
    registered to, and `transfers` says who owns it from when, so that a rule asks for the owner on its own day.
    """

    @staticmethod
    def create_id(duid: str) -> UUID:
        return uuid5(NAMESPACE, f"duid:{duid}")

    @event("Registered")
    def __init__(self, duid: str, participant_id: str, station_id: str, max_capacity_mw: float) -> None:
        self.duid = duid
        self.participant_id = participant_id
        self.station_id = station_id
        self.max_capacity_mw = max_capacity_mw
        # {"participantId", "fromDate"} in date order; a second transfer from the same date replaces the first.
        self.transfers: list[dict[str, str]] = []

    @event("Changed")
    def change(self, participant_id: str, station_id: str, max_capacity_mw: float) -> None:
        self.participant_id = participant_id
        self.station_id = station_id
        self.max_capacity_mw = max_capacity_mw

    @event("Transferred")
    def transfer(self, participant_id: str, from_date: date) -> None:
        transfer = {"participantId": participant_id, "fromDate": from_date.isoformat()}
        self.transfers = sorted(
            [t for t in self.transfers if t["fromDate"] != transfer["fromDate"]] + [transfer],
            key=lambda t: t["fromDate"],
        )


class MeteringPoint(Aggregate):
    """An NMI's responsibility periods: from each `from_date`, which MC, MDP (and LNSP) answer for it."""

    @staticmethod
    def create_id(nmi: str) -> UUID:
        return uuid5(NAMESPACE, f"nmi:{nmi}")

    @event("Registered")
    def __init__(self, nmi: str) -> None:
        self.nmi = nmi
        self.periods: list[dict[str, str]] = []

    @event("ResponsibilityRecorded")
    def record(self, mc: str, mdp: str, lnsp: str, from_date: date) -> None:
        period = {"mc": mc, "mdp": mdp, "lnsp": lnsp, "fromDate": from_date.isoformat()}
        self.periods = sorted(
            [p for p in self.periods if p["fromDate"] != period["fromDate"]] + [period], key=lambda p: p["fromDate"]
        )

    def responsible_on(self, day: date) -> frozenset[str] | None:
        """The MC and MDP answering on `day`; on the day of a change the outgoing ones may send too.

        Before the first period the NMI counts as having no standing data (None).
        """
        on = day.isoformat()
        current = [p for p in self.periods if p["fromDate"] <= on]
        if not current:
            return None
        answer = {current[-1]["mc"], current[-1]["mdp"]}
        if current[-1]["fromDate"] == on and len(current) > 1:
            answer |= {current[-2]["mc"], current[-2]["mdp"]}
        return frozenset(answer)

    def network_on(self, day: date) -> str | None:
        """The LNSP of the record in force on `day`, the one network its customer data may go to; None before the
        first record."""
        on = day.isoformat()
        current = [p for p in self.periods if p["fromDate"] <= on]
        return current[-1]["lnsp"] if current else None
