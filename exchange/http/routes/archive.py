"""The outbound archive API (`ARCH_RETRIEVE`)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from litestar import Request, Response, Router, get
from litestar.params import QueryParameter

from exchange.http.auth import requires_token
from exchange.http.body import accepts_gzip, gzip_bytes
from exchange.http.openapi import JSON_PAYLOAD
from exchange.http.routes.messages import parse_timestamp
from exchange.services.access import Principal
from exchange.services.read_side import ArchiveSearch, ReadSide


def archive_router(read_side: ReadSide) -> Router:
    @get("/archive", summary="Messages delivered to you, newest first")
    async def archive(
        principal: Principal,
        start_date_time: Annotated[str | None, QueryParameter(name="startDateTime")] = None,
        end_date_time: Annotated[str | None, QueryParameter(name="endDateTime")] = None,
        business_function_id: Annotated[str | None, QueryParameter(name="businessFunctionId")] = None,
        business_function_resource_id: Annotated[str | None, QueryParameter(name="businessFunctionResourceId")] = None,
        item_count: Annotated[int, QueryParameter(name="itemCount", ge=1, le=500)] = 100,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        asked = ArchiveSearch(
            start=parse_timestamp(start_date_time, "startDateTime"),
            end=parse_timestamp(end_date_time, "endDateTime"),
            business_function_id=business_function_id,
            resource_id=business_function_resource_id,
            item_count=item_count,
            cursor=cursor,
        )
        page = await read_side.archive(principal.participant_id, asked)
        return {
            "data": page.items,
            "meta": {
                "itemCount": len(page.items),
                "nextCursor": page.next_cursor,
                "totalRecords": page.total_records,
                "totalPages": -(-page.total_records // item_count),
            },
        }

    @get(
        "/archive/{messageContextId:str}",
        summary="A delivered payload, with the hub's re-signature",
        responses=JSON_PAYLOAD,
    )
    async def item(
        request: Request[Any, Any, Any],
        principal: Principal,
        messageContextId: str,  # noqa: N803
    ) -> Response[bytes]:
        found = await read_side.archived_payload(principal.participant_id, messageContextId)
        body = found.payload
        headers = {
            "x-signature": found.hub_signature,
            "x-original-signature": found.original_signature,
            "x-initiatingParticipantId": found.sender_id,
            "Vary": "Accept-Encoding",
        }
        if accepts_gzip(request.headers.get("accept-encoding")):
            body = await asyncio.to_thread(gzip_bytes, body)
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type="application/json", headers=headers)

    return Router(
        path="/idx/v1",
        route_handlers=[archive, item],
        tags=["outbound archive"],
        opt=requires_token("ARCH_RETRIEVE"),
    )
