"""The transaction log API (`TRANSLOG_TRANSLOG`)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

import aiosqlite
from litestar import Request, Response, Router, get
from litestar.params import Parameter
from litestar.response import Stream

from exchange.domain.messages import Message
from exchange.eventstore.directory import Directory
from exchange.eventstore.ledger import Ledger
from exchange.http.auth import Gate
from exchange.http.body import accepts_gzip, gzip_bytes
from exchange.http.routes.messages import parse_timestamp
from exchange.kernel.errors import MalformedError, NotFoundError
from translog.csv_export import csv_lines
from translog.queries import QueryError, TranslogQuery, Viewer, all_rows, related, search

ENTITY = "TRANSLOG_TRANSLOG"


def translog_router(views: aiosqlite.Connection, ledger: Ledger, directory: Directory, gate: Gate) -> Router:
    async def viewer_of(request: Request[Any, Any, Any]) -> Viewer:
        principal = await gate.principal(request, ENTITY)
        roles = await asyncio.to_thread(directory.roles_of, principal.participant_id) or frozenset()
        return Viewer(principal.participant_id, sees_all="OPERATOR" in roles)

    @get("/translog", summary="Search the transaction log (JSON, or CSV with Accept: text/csv)")
    async def translog(
        request: Request[Any, Any, Any],
        from_date_time: Annotated[str | None, Parameter(query="fromDateTime")] = None,
        to_date_time: Annotated[str | None, Parameter(query="toDateTime")] = None,
        business_function_id: Annotated[str | None, Parameter(query="businessFunctionId")] = None,
        business_function_resource_id: Annotated[str | None, Parameter(query="businessFunctionResourceId")] = None,
        message_context_id: Annotated[str | None, Parameter(query="messageContextId")] = None,
        initiating_participant_id: Annotated[str | None, Parameter(query="initiatingParticipantId")] = None,
        receiving_participant_id: Annotated[str | None, Parameter(query="receivingParticipantId")] = None,
        status: str | None = None,
        message_type: Annotated[str | None, Parameter(query="messageType")] = None,
        priority: Literal["High", "Medium", "Low"] | None = None,
        sort: str = "-createdDateTime",
        item_count: Annotated[int, Parameter(query="itemCount", ge=1, le=500)] = 100,
        cursor: str | None = None,
    ) -> Any:
        viewer = await viewer_of(request)
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
        query = TranslogQuery(
            viewer=viewer,
            equals=equals,
            priority=priority,
            from_date_time=parse_timestamp(from_date_time, "fromDateTime"),
            to_date_time=parse_timestamp(to_date_time, "toDateTime"),
            sort=sort,
            item_count=item_count,
            cursor=cursor,
        )
        try:
            if "text/csv" in request.headers.get("accept", ""):
                await search(views, TranslogQuery(**{**query.__dict__, "item_count": 1}))  # checks sort and cursor
                # In the headers: Litestar lets the route's JSON default win over a Stream's own media_type.
                return Stream(
                    csv_lines(all_rows(views, query)),
                    headers={
                        "Content-Type": "text/csv; charset=utf-8",
                        "Content-Disposition": 'attachment; filename="translog.csv"',
                    },
                )
            page = await search(views, query)
        except QueryError as error:
            raise MalformedError(str(error)) from error
        return {
            "data": page.items,
            "meta": {
                "itemCount": len(page.items),
                "nextCursor": page.next_cursor,
                "totalRecords": page.total_records,
                "totalPages": -(-page.total_records // item_count),
            },
        }

    @get("/translog/{messageContextId:str}", summary="The rows of one message and their history")
    async def one(request: Request[Any, Any, Any], messageContextId: str) -> dict[str, Any]:  # noqa: N803
        found = await related(views, await viewer_of(request), messageContextId)
        if found is None:
            raise NotFoundError(f"no transaction of yours has messageContextId {messageContextId}")
        return {"data": found}

    @get("/translog/{messageContextId:str}/payload", summary="The payload, to its sender and receivers only")
    async def payload(request: Request[Any, Any, Any], messageContextId: str) -> Response[bytes]:  # noqa: N803
        principal = await gate.principal(request, ENTITY)
        message = await asyncio.to_thread(ledger.find, Message, Message.create_id(messageContextId))
        if message is None or principal.participant_id not in (message.sender_id, *message.recipients):
            raise NotFoundError(f"no payload of yours has messageContextId {messageContextId}")
        body = message.payload
        headers = {"x-signature": message.hub_signature, "x-original-signature": message.signature}
        if accepts_gzip(request.headers.get("accept-encoding")):
            body = await asyncio.to_thread(gzip_bytes, body)
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type="application/json", headers=headers)

    return Router(path="/idx/v1", route_handlers=[translog, one, payload], tags=["transaction log"])
