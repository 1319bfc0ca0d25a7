"""The outbound archive API (`ARCH_RETRIEVE`)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import aiosqlite
from litestar import Request, Response, Router, get
from litestar.params import Parameter

from archive.queries import ArchiveQuery, find_item, list_archive
from exchange.domain.messages import Message
from exchange.eventstore.ledger import Ledger
from exchange.http.auth import Gate
from exchange.http.body import accepts_gzip, gzip_bytes
from exchange.http.routes.messages import parse_timestamp
from exchange.kernel.errors import MalformedError, NotFoundError
from exchange.kernel.paging import CursorError

ENTITY = "ARCH_RETRIEVE"


def archive_router(views: aiosqlite.Connection, ledger: Ledger, gate: Gate) -> Router:
    @get("/archive", summary="Messages delivered to you, newest first")
    async def archive(
        request: Request[Any, Any, Any],
        start_date_time: Annotated[str | None, Parameter(query="startDateTime")] = None,
        end_date_time: Annotated[str | None, Parameter(query="endDateTime")] = None,
        business_function_id: Annotated[str | None, Parameter(query="businessFunctionId")] = None,
        business_function_resource_id: Annotated[str | None, Parameter(query="businessFunctionResourceId")] = None,
        item_count: Annotated[int, Parameter(query="itemCount", ge=1, le=500)] = 100,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        principal = await gate.principal(request, ENTITY)
        query = ArchiveQuery(
            recipient=principal.participant_id,
            start=parse_timestamp(start_date_time, "startDateTime"),
            end=parse_timestamp(end_date_time, "endDateTime"),
            business_function_id=business_function_id,
            resource_id=business_function_resource_id,
            item_count=item_count,
            cursor=cursor,
        )
        try:
            page = await list_archive(views, query)
        except CursorError as error:
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

    @get("/archive/{messageContextId:str}", summary="A delivered payload, with the hub's re-signature")
    async def item(request: Request[Any, Any, Any], messageContextId: str) -> Response[bytes]:  # noqa: N803
        principal = await gate.principal(request, ENTITY)
        if await find_item(views, principal.participant_id, messageContextId) is None:
            raise NotFoundError(f"{messageContextId} is not in your archive")
        message = await asyncio.to_thread(ledger.find, Message, Message.create_id(messageContextId))
        if message is None:
            raise NotFoundError(f"{messageContextId} is not in your archive")
        body = message.payload
        headers = {
            "x-signature": message.hub_signature,
            "x-original-signature": message.signature,
            "x-initiatingParticipantId": message.sender_id,
            "Vary": "Accept-Encoding",
        }
        if accepts_gzip(request.headers.get("accept-encoding")):
            body = await asyncio.to_thread(gzip_bytes, body)
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type="application/json", headers=headers)

    return Router(path="/idx/v1", route_handlers=[archive, item], tags=["outbound archive"])
