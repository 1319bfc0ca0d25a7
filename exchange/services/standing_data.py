"""Administration of standing data: DUIDs for recall plans and bids, NMI responsibility for meter churn."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import date

from exchange.domain.standing import GeneratingUnit, MeteringPoint
from exchange.eventstore.directory import Directory, unit_info
from exchange.eventstore.ledger import GroupCommit, Ledger
from exchange.functions.errors import FieldError
from exchange.functions.protocol import GeneratingUnitInfo
from exchange.kernel.errors import ConcurrencyError, ConflictError, InvalidError, NotFoundError
from exchange.kernel.formats import PARTICIPANT_ID

NMI = re.compile(r"^[A-Z0-9]{10}$")
DUID = re.compile(r"^[A-Z0-9_]{1,10}$")
# AEMO station ids are up to 10 characters; twice that leaves room and keeps the string bounded.
MAX_STATION_ID_LENGTH = 20
# The largest unit in the NEM is some 750 MW: a registered capacity beyond 10 GW is a mistake, and an unbounded
# one makes the bid rule `dailyEnergyConstraint < capacity x 24` meaningless.
MAX_CAPACITY_MW = 10_000.0


@dataclass(eq=False)
class StandingDataAdmin:
    ledger: Ledger
    committer: GroupCommit
    directory: Directory

    async def register_unit(
        self, duid: str, participant_id: str, station_id: str, max_capacity_mw: float
    ) -> GeneratingUnit:
        errors = []
        # fullmatch: `$` alone would let a trailing newline through.
        if not DUID.fullmatch(duid):
            errors.append(FieldError("duid", "must match ^[A-Z0-9_]{1,10}$"))
        errors += await self._role_errors("participantId", participant_id, "GENERATOR")
        if not station_id.strip() or len(station_id) > MAX_STATION_ID_LENGTH:
            errors.append(FieldError("stationId", f"1 to {MAX_STATION_ID_LENGTH} characters, not blank"))
        # Written so that NaN fails too.
        if not 0 < max_capacity_mw <= MAX_CAPACITY_MW:
            errors.append(FieldError("maxCapacityMW", f"must be more than 0 and at most {MAX_CAPACITY_MW:,.0f}"))
        if errors:
            raise InvalidError("the DUID is not valid", errors=errors)
        unit = GeneratingUnit(duid, participant_id, station_id, max_capacity_mw)
        try:
            await self.committer.save(unit)
        except ConcurrencyError as error:
            raise ConflictError(f"DUID {duid} already exists") from error
        return unit

    async def transfer_unit(self, duid: str, participant_id: str, from_date: str) -> GeneratingUnitInfo:
        """The DUID belongs to `participant_id` from `from_date` on; days before keep their owner."""
        errors = await self._role_errors("participantId", participant_id, "GENERATOR")
        starts = _day(from_date, errors)
        if errors or starts is None:
            raise InvalidError("the transfer is not valid", errors=errors)
        for _ in range(5):  # two transfers of one DUID at once: the second retries on the fresh state
            unit = await self._registered_unit(duid)
            unit.transfer(participant_id, starts)
            try:
                await self.committer.save(unit)
            except ConcurrencyError:
                continue
            return unit_info(unit)
        raise ConflictError(f"DUID {duid} is being changed by another request; try again")

    async def unit(self, duid: str) -> GeneratingUnitInfo:
        return unit_info(await self._registered_unit(duid))

    async def _registered_unit(self, duid: str) -> GeneratingUnit:
        """The DUID as the event store has it now; NotFoundError for one never registered."""
        unit = await asyncio.to_thread(self.ledger.find, GeneratingUnit, GeneratingUnit.create_id(duid))
        if unit is None:
            raise NotFoundError(f"there is no DUID {duid}")  # not echoed beyond the path it came in
        return unit

    async def units(self) -> list[GeneratingUnitInfo]:
        """Every registered DUID, by DUID (the standing-data cache holds them all)."""
        await asyncio.to_thread(self.directory.refresh)
        return self.directory.generating_units()

    async def metering_point(self, nmi: str) -> MeteringPoint:
        point = await asyncio.to_thread(self.ledger.find, MeteringPoint, MeteringPoint.create_id(nmi))
        if point is None:
            raise NotFoundError(f"there is no record of NMI {nmi}")
        return point

    async def record_responsibility(self, nmi: str, mc: str, mdp: str, lnsp: str, from_date: str) -> MeteringPoint:
        errors = []
        if not NMI.fullmatch(nmi):
            errors.append(FieldError("nmi", "must match ^[A-Z0-9]{10}$"))
        errors += await self._role_errors("mc", mc, "MC")
        errors += await self._role_errors("mdp", mdp, "MDP")
        errors += await self._role_errors("lnsp", lnsp, "LNSP")
        starts = _day(from_date, errors)
        if errors or starts is None:
            raise InvalidError("the NMI record is not valid", errors=errors)
        for _ in range(5):  # two records for one NMI at once: the second retries on the fresh state
            point = await asyncio.to_thread(self.ledger.find, MeteringPoint, MeteringPoint.create_id(nmi))
            point = point or MeteringPoint(nmi)
            point.record(mc=mc, mdp=mdp, lnsp=lnsp, from_date=starts)
            try:
                await self.committer.save(point)
            except ConcurrencyError:
                continue
            return point
        raise ConflictError(f"NMI {nmi} is being changed by another request; try again")

    async def _role_errors(self, field: str, participant_id: str, role: str) -> list[FieldError]:
        if not PARTICIPANT_ID.fullmatch(participant_id):
            return [FieldError(field, f"must match {PARTICIPANT_ID.pattern}")]  # not echoed: it may be megabytes
        roles = await asyncio.to_thread(self.directory.roles_of, participant_id)
        if roles is None:
            return [FieldError(field, f"{participant_id} is not a participant")]
        if role not in roles:
            return [FieldError(field, f"{participant_id} does not hold the role {role}")]
        return []


def _day(value: str, errors: list[FieldError]) -> date | None:
    """`fromDate` as a date, or None with its error added to `errors`."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(FieldError("fromDate", "must be an ISO date (YYYY-MM-DD)"))
        return None
