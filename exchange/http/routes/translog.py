"""The transaction log API (`TRANSLOG_TRANSLOG`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Request, Response, Router, get
from litestar.params import Parameter
from litestar.response import Stream

from exchange.http.auth import requires_token
from exchange.http.queries import FromDateTime, FunctionId, ItemCount, ResourceId, ToDateTime
from exchange.http.responses import page_meta, payload_response
from exchange.http.routes.messages import parse_timestamp
from exchange.services.access import Principal
from exchange.services.read_side import ReadSide, TranslogSearch


def translog_router(read_side: ReadSide) -> Router:
    @get("/translog", summary="Search the transaction log (JSON, or CSV with Accept: text/csv)")
    async def translog(
        request: Request[Any, Any, Any],
        principal: Principal,
        from_date_time: FromDateTime = None,
        to_date_time: ToDateTime = None,
        business_function_id: FunctionId = None,
        business_function_resource_id: ResourceId = None,
        message_context_id: Annotated[str | None, Parameter(query="messageContextId")] = None,
        initiating_participant_id: Annotated[str | None, Parameter(query="initiatingParticipantId")] = None,
        receiving_participant_id: Annotated[str | None, Parameter(query="receivingParticipantId")] = None,
        status: str | None = None,
        message_type: Annotated[str | None, Parameter(query="messageType")] = None,
        priority: Literal["High", "Medium", "Low"] | None = None,
        sort: str = "-createdDateTime",
        item_count: ItemCount = 100,
        cursor: str | None = None,
    ) -> Any:
        equals = {
            name: value
            for name, value in (
                ("businessFunctionId", business_function_id),
                ("businessFunctionResourceId", business_function_resource_id),
                ("messageContextId", message_context_id),
                ("initiatingParticipantId", initiating_participant_id),
                ("receivingParticipantId", receiving_participant_id),
                ("status", status),
                ("messageType", message_type),
            )
            if value is not None
        }
        asked = TranslogSearch(
            equals=equals,
            priority=priority,
            from_date_time=parse_timestamp(from_date_time, "fromDateTime"),
            to_date_time=parse_timestamp(to_date_time, "toDateTime"),
            sort=sort,
            item_count=item_count,
            cursor=cursor,
        )
        if "text/csv" in request.headers.get("accept", ""):
            lines = await read_side.translog_csv(principal.participant_id, asked)
            # In the headers: Litestar lets the route's JSON default win over a Stream's own media_type.
            return Stream(
                lines,
                headers={
                    "Content-Type": "text/csv; charset=utf-8",
                    "Content-Disposition": 'attachment; filename="translog.csv"',
                },
            )
        page = await read_side.translog(principal.participant_id, asked)
        return {
            "data": page.items,
            "meta": page_meta(page, item_count),
        }

    @get("/translog/{messageContextId:str}", summary="The rows of one message and their history")
    async def one(principal: Principal, messageContextId: str) -> dict[str, Any]:  # noqa: N803
        return {"data": await read_side.transaction(principal.participant_id, messageContextId)}

    @get("/translog/{messageContextId:str}/payload", summary="The payload, to its sender and receivers only")
    async def payload(
        request: Request[Any, Any, Any],
        principal: Principal,
        messageContextId: str,  # noqa: N803
    ) -> Response[bytes]:
        found = await read_side.transaction_payload(principal.participant_id, messageContextId)
        return await payload_response(request, found, names_sender=False)

    return Router(
        path="/idx/v1",
        route_handlers=[translog, one, payload],
        tags=["transaction log"],
        opt=requires_token("TRANSLOG_TRANSLOG"),
    )
