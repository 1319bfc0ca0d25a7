"""Flow control (`FCTRL_STATUS` to read, `FCTRL_FCTRL` to change) and participant status, as API.md says."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Router, get, patch, put
from litestar.params import Body, Parameter

from exchange.http.auth import Gate
from exchange.http.routes.messages import parse_timestamp
from exchange.services.flow_control import FlowControls


class DeliverySwitch(msgspec.Struct, rename="camel"):
    message_delivery: Literal["Stopped", "Started"]


class WatermarkBody(msgspec.Struct):
    low: int
    warn: int
    high: int


def flowcontrol_router(flow: FlowControls, gate: Gate) -> Router:
    @get("/flowcontrol/businessFunctions", summary="Your business functions that are Warned, Stopped or stopped")
    async def breaches(request: Request[Any, Any, Any], expand: bool = False) -> dict[str, Any]:
        principal = await gate.principal(request, "FCTRL_STATUS")
        return {"data": {"businessFunctions": await flow.breaches(principal.participant_id, expand)}}

    @get("/flowcontrol/businessFunctions/{businessFunctionId:str}", summary="Flow control of one business function")
    async def detail(request: Request[Any, Any, Any], businessFunctionId: str) -> dict[str, Any]:  # noqa: N803
        principal = await gate.principal(request, "FCTRL_STATUS")
        return {"data": await flow.detail(principal.participant_id, businessFunctionId)}

    @patch("/flowcontrol/businessFunctions/{businessFunctionId:str}", summary="Stop or start delivery (2 a day)")
    async def switch(
        request: Request[Any, Any, Any],
        businessFunctionId: str,  # noqa: N803
        data: Annotated[DeliverySwitch, Body()],
    ) -> dict[str, Any]:
        principal = await gate.principal(request, "FCTRL_FCTRL")
        return {"data": await flow.switch(principal.participant_id, businessFunctionId, data.message_delivery)}

    @get("/participantStatus", summary="Current status of every participant's business functions")
    async def status(
        request: Request[Any, Any, Any],
        participant_id: Annotated[str | None, Parameter(query="participantId")] = None,
    ) -> dict[str, Any]:
        await gate.principal(request, "FCTRL_STATUS")
        return {"data": await flow.participant_status(participant_id)}

    @get("/participantStatus/history", summary="Every status change and manual stop or start, oldest first")
    async def history(
        request: Request[Any, Any, Any],
        participant_id: Annotated[str | None, Parameter(query="participantId")] = None,
        business_function_id: Annotated[str | None, Parameter(query="businessFunctionId")] = None,
        from_date_time: Annotated[str | None, Parameter(query="fromDateTime")] = None,
        to_date_time: Annotated[str | None, Parameter(query="toDateTime")] = None,
    ) -> dict[str, Any]:
        await gate.principal(request, "FCTRL_STATUS")
        rows = await flow.history(
            participant_id,
            business_function_id,
            parse_timestamp(from_date_time, "fromDateTime"),
            parse_timestamp(to_date_time, "toDateTime"),
        )
        return {"data": rows, "meta": {"itemCount": len(rows), "nextCursor": None, "totalRecords": len(rows),
                                       "totalPages": 1 if rows else 0}}  # fmt: skip

    return Router(path="/idx/v1", route_handlers=[breaches, detail, switch, status, history], tags=["flow control"])


def watermarks_router(flow: FlowControls, gate: Gate) -> Router:
    @put(
        "/participants/{participantId:str}/flowcontrol/{businessFunctionId:str}",
        summary="Set a participant's watermarks for a business function",
    )
    async def set_watermarks(
        request: Request[Any, Any, Any],
        participantId: str,  # noqa: N803
        businessFunctionId: str,  # noqa: N803
        data: Annotated[WatermarkBody, Body()],
    ) -> dict[str, Any]:
        await gate.principal(request, "IDX_ADMIN")
        await flow.set_watermarks(participantId, businessFunctionId, data.low, data.warn, data.high)
        return {"data": await flow.item(participantId, businessFunctionId)}

    return Router(path="/admin/v1", route_handlers=[set_watermarks], tags=["administration"])
