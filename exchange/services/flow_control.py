"""Flow-control use cases: the breach list, the detail view, the manual switch, participant status, watermarks."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from exchange.domain.flow import FlowControl
from exchange.domain.markettime import market_day, seconds_until_next_market_day
from exchange.eventstore.directory import Directory
from exchange.functions.errors import FieldError
from exchange.functions.registry import Registry, UnknownFunctionError
from exchange.kernel.clock import Clock
from exchange.kernel.errors import InvalidError, LimitExceededError, NotFoundError
from exchange.readmodels.flow_history import FlowChange as FlowChange  # what `history` lists
from exchange.readmodels.flow_history import FlowHistory
from exchange.services.delivery_gate import DeliveryGate
from exchange.services.participants import Administration
from flowcontrol.limits import LimitStore
from flowcontrol.state import FlowState
from flowcontrol.watermarks import MAX_WATERMARK, Watermarks

MANUAL_SWITCHES_PER_DAY = 2


@dataclass(frozen=True)
class FlowItem:
    """Where a participant's business function stands: its status, its count and its watermarks."""

    business_function_id: str
    message_status: str
    message_count: int
    message_breached_at: datetime | None
    manual_stop: bool
    watermarks: Watermarks


@dataclass(frozen=True)
class ResourceCounts:
    resource_id: str
    message_count: int
    pending_count: int


@dataclass(frozen=True)
class FlowDetail:
    """A flow item with what waits behind it, resource by resource, and the day's manual switches."""

    item: FlowItem
    pending_count: int
    resources: list[ResourceCounts]
    manual_switches_used_today: int
    manual_switches_per_day: int


@dataclass(frozen=True)
class ParticipantStatus:
    participant_id: str
    business_function_id: str
    message_status: str
    manual_stop: bool
    message_count: int
    since: datetime | None
    # The participant's own standing: "Suspended" by the operator, else "Active".
    participant_status: str = "Active"


@dataclass(eq=False)
class FlowControls:
    gate: DeliveryGate
    registry: Registry
    directory: Directory
    admin: Administration
    changes: FlowHistory
    limits: LimitStore
    clock: Clock

    async def functions_of(self, participant_id: str) -> list[str]:
        """Business functions this participant receives, so has a queue (and flow control) for."""
        roles = await asyncio.to_thread(self.directory.roles_of, participant_id) or frozenset()
        return [f.id for f in self.registry.receiver_functions(roles)]

    async def breaches(self, participant_id: str, expand: bool) -> list[FlowItem]:
        items = [await self.item(participant_id, bf) for bf in await self.functions_of(participant_id)]
        if expand:
            return items
        return [i for i in items if i.message_status != "Operational" or i.manual_stop]

    async def item(self, participant_id: str, business_function_id: str) -> FlowItem:
        state, control = await self.gate.state(participant_id, business_function_id)
        return _item(business_function_id, state, control)

    async def detail(self, participant_id: str, business_function_id: str) -> FlowDetail:
        await self._require_function(participant_id, business_function_id)
        item = await self.item(participant_id, business_function_id)
        pending = await self.gate.pending_count(participant_id, business_function_id)
        resources = [
            ResourceCounts(
                resource.id,
                await self.gate.queued_count(participant_id, business_function_id, resource.id),
                await self.gate.pending_count(participant_id, business_function_id, resource.id),
            )
            for resource in self.registry.function(business_function_id).resources
        ]
        used = await self.limits.manual_switches(participant_id, business_function_id, market_day(self.clock.now()))
        return FlowDetail(item, pending, resources, used, MANUAL_SWITCHES_PER_DAY)

    async def switch(self, participant_id: str, business_function_id: str, delivery: str) -> FlowItem:
        await self._require_function(participant_id, business_function_id)
        state, _ = await self.gate.state(participant_id, business_function_id)
        if state.manual_stop == (delivery == "Stopped"):
            # Asking for what is already so changes nothing, so it does not use up one of the day's switches.
            return await self.item(participant_id, business_function_id)
        now = self.clock.now()
        allowed = await self.limits.take_manual_switch(
            participant_id, business_function_id, market_day(now), MANUAL_SWITCHES_PER_DAY
        )
        if not allowed:
            raise LimitExceededError(
                f"delivery of {business_function_id} was switched {MANUAL_SWITCHES_PER_DAY} times today already",
                retry_after=int(seconds_until_next_market_day(now)),
            )
        await self.gate.switch(participant_id, business_function_id, stopped=delivery == "Stopped")
        return await self.item(participant_id, business_function_id)

    async def set_watermarks(
        self, participant_id: str, business_function_id: str, low: int, warn: int, high: int
    ) -> None:
        if await asyncio.to_thread(self.directory.participant, participant_id) is None:
            raise NotFoundError(f"participant {participant_id} does not exist")
        out_of_range = [
            FieldError(name, f"must be 0 to {MAX_WATERMARK:,}")
            for name, value in (("low", low), ("warn", warn), ("high", high))
            if not 0 <= value <= MAX_WATERMARK
        ]
        if out_of_range:
            raise InvalidError("a watermark is out of range", errors=out_of_range)
        try:
            self.registry.function(business_function_id)
            watermarks = Watermarks(low, warn, high)
        except UnknownFunctionError as error:
            raise NotFoundError(str(error)) from error
        except ValueError as error:
            raise InvalidError(str(error), errors=[FieldError("low", "must satisfy 0 <= low < warn < high")]) from error
        await self.gate.set_watermarks(participant_id, business_function_id, watermarks)

    async def participant_status(self, participant_id: str | None) -> list[ParticipantStatus]:
        """Every participant that receives a business function, for those functions (operational information)."""
        participants = [p.participant_id for p in await self.admin.participants()]
        if participant_id is not None:
            participants = [p for p in participants if p == participant_id]
        rows = []
        for participant in participants:
            registered = await asyncio.to_thread(self.directory.participant, participant)
            standing = "Suspended" if registered is not None and registered.suspended else "Active"
            for function_id in await self.functions_of(participant):
                state, control = await self.gate.state(participant, function_id)
                since = control.since if control else None
                rows.append(
                    ParticipantStatus(
                        participant, function_id, state.status, state.manual_stop, state.count, since, standing
                    )
                )
        return rows

    async def history(
        self,
        participant_id: str | None,
        business_function_id: str | None,
        start: datetime | None,
        end: datetime | None,
    ) -> list[FlowChange]:
        """Every status change and manual stop or start, oldest first."""
        return await self.changes.search(participant_id, business_function_id, start, end)

    async def _require_function(self, participant_id: str, business_function_id: str) -> None:
        if business_function_id not in await self.functions_of(participant_id):
            raise NotFoundError(f"you have no queue for the business function {business_function_id}")


def _item(business_function_id: str, state: FlowState, control: FlowControl | None) -> FlowItem:
    breached_at = control.breached_at if control else None
    return FlowItem(business_function_id, state.status, state.count, breached_at, state.manual_stop, state.watermarks)
