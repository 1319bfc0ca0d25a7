"""Flow control (`FCTRL_STATUS` to read, `FCTRL_FCTRL` to change) and participant status."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from litestar import Router, get, patch, put
from litestar.params import Body

from exchange.http.auth import requires_token
from exchange.http.queries import FromDateTime, FunctionId, ParticipantIdQuery, ToDateTime
from exchange.http.routes.messages import parse_timestamp
from exchange.kernel.clock import iso
from exchange.services.access import Principal
from exchange.services.flow_control import FlowChange, FlowControls, FlowDetail, FlowItem, ParticipantStatus


class DeliverySwitch(msgspec.Struct, rename="camel"):
    message_delivery: Literal["Stopped", "Started"]


class WatermarkBody(msgspec.Struct):
    low: int
    warn: int
    high: int


class FlowItemView(msgspec.Struct, rename="camel"):
    business_function_id: str
    message_status: str
    message_count: int
    message_breached_timestamp: str | None
    manual_stop: bool
    watermarks: WatermarkBody


class ResourceCountsView(msgspec.Struct, rename="camel"):
    business_function_resource_id: str
    message_count: int
    pending_count: int


class ManualSwitchesView(msgspec.Struct, rename="camel"):
    used_today: int
    per_day: int


class FlowDetailView(FlowItemView, rename="camel"):
    pending_count: int
    resources: list[ResourceCountsView]
    manual_switches: ManualSwitchesView


class BreachesView(msgspec.Struct, rename="camel"):
    business_functions: list[FlowItemView]


class ParticipantStatusView(msgspec.Struct, rename="camel"):
    participant_id: str
    business_function_id: str
    message_status: str
    manual_stop: bool
    message_count: int
    since: str | None
    participant_status: str


class FlowChangeView(msgspec.Struct, rename="camel"):
    participant_id: str
    business_function_id: str
    message_status: str
    manual_stop: bool
    message_count: int
    changed_date_time: str


class HistoryMeta(msgspec.Struct, rename="camel"):
    item_count: int
    next_cursor: None
    total_records: int
    total_pages: int


class HistoryPage(msgspec.Struct):
    data: list[FlowChangeView]
    meta: HistoryMeta


def _iso_or_none(moment: datetime | None) -> str | None:
    return iso(moment) if moment is not None else None


def item_view(item: FlowItem) -> FlowItemView:
    return FlowItemView(
        business_function_id=item.business_function_id,
        message_status=item.message_status,
        message_count=item.message_count,
        message_breached_timestamp=_iso_or_none(item.message_breached_at),
        manual_stop=item.manual_stop,
        watermarks=WatermarkBody(item.watermarks.low, item.watermarks.warn, item.watermarks.high),
    )


def detail_view(detail: FlowDetail) -> FlowDetailView:
    return FlowDetailView(
        **msgspec.structs.asdict(item_view(detail.item)),
        pending_count=detail.pending_count,
        resources=[ResourceCountsView(r.resource_id, r.message_count, r.pending_count) for r in detail.resources],
        manual_switches=ManualSwitchesView(detail.manual_switches_used_today, detail.manual_switches_per_day),
    )


def status_view(row: ParticipantStatus) -> ParticipantStatusView:
    return ParticipantStatusView(
        row.participant_id,
        row.business_function_id,
        row.message_status,
        row.manual_stop,
        row.message_count,
        _iso_or_none(row.since),
        row.participant_status,
    )


def change_view(change: FlowChange) -> FlowChangeView:
    return FlowChangeView(
        change.participant_id,
        change.business_function_id,
        change.message_status,
        change.manual_stop,
        change.message_count,
        iso(change.changed_at),
    )


def flowcontrol_router(flow: FlowControls) -> Router:
    @get(
        "/flowcontrol/businessFunctions",
        summary="Your business functions that are Warned, Stopped or stopped",
        opt=requires_token("FCTRL_STATUS"),
    )
    async def breaches(principal: Principal, expand: bool = False) -> dict[str, BreachesView]:
        items = await flow.breaches(principal.participant_id, expand)
        return {"data": BreachesView([item_view(i) for i in items])}

    @get(
        "/flowcontrol/businessFunctions/{businessFunctionId:str}",
        summary="Flow control of one business function",
        opt=requires_token("FCTRL_STATUS"),
    )
    async def detail(principal: Principal, businessFunctionId: str) -> dict[str, FlowDetailView]:  # noqa: N803
        return {"data": detail_view(await flow.detail(principal.participant_id, businessFunctionId))}

    @patch(
        "/flowcontrol/businessFunctions/{businessFunctionId:str}",
        summary="Stop or start delivery (2 a day)",
        opt=requires_token("FCTRL_FCTRL"),
    )
    async def switch(
        principal: Principal,
        businessFunctionId: str,  # noqa: N803
        data: Annotated[DeliverySwitch, Body()],
    ) -> dict[str, FlowItemView]:
        return {
            "data": item_view(await flow.switch(principal.participant_id, businessFunctionId, data.message_delivery))
        }

    @get(
        "/participantStatus",
        summary="Current status of every participant's business functions",
        opt=requires_token("FCTRL_STATUS"),
    )
    async def status(
        participant_id: ParticipantIdQuery = None,
    ) -> dict[str, list[ParticipantStatusView]]:
        return {"data": [status_view(row) for row in await flow.participant_status(participant_id)]}

    @get(
        "/participantStatus/history",
        summary="Every status change and manual stop or start, oldest first",
        opt=requires_token("FCTRL_STATUS"),
    )
    async def history(
        participant_id: ParticipantIdQuery = None,
        business_function_id: FunctionId = None,
        from_date_time: FromDateTime = None,
        to_date_time: ToDateTime = None,
    ) -> HistoryPage:
        changes = await flow.history(
            participant_id,
            business_function_id,
            parse_timestamp(from_date_time, "fromDateTime"),
            parse_timestamp(to_date_time, "toDateTime"),
        )
        return HistoryPage(
            data=[change_view(c) for c in changes],
            meta=HistoryMeta(len(changes), None, len(changes), 1 if changes else 0),
        )

    return Router(path="/idx/v1", route_handlers=[breaches, detail, switch, status, history], tags=["flow control"])


def watermarks_router(flow: FlowControls) -> Router:
    @put(
        "/participants/{participantId:str}/flowcontrol/{businessFunctionId:str}",
        summary="Set a participant's watermarks for a business function",
        opt=requires_token("IDX_ADMIN"),
    )
    async def set_watermarks(
        participantId: str,  # noqa: N803
        businessFunctionId: str,  # noqa: N803
        data: Annotated[WatermarkBody, Body()],
    ) -> dict[str, FlowItemView]:
        await flow.set_watermarks(participantId, businessFunctionId, data.low, data.warn, data.high)
        return {"data": item_view(await flow.item(participantId, businessFunctionId))}

    return Router(path="/admin/v1", route_handlers=[set_watermarks], tags=["administration"])
