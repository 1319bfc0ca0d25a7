"""The outbound archive API (`ARCH_RETRIEVE`)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Router, get
from litestar.params import QueryParameter

from exchange.http.auth import requires_token
from exchange.http.queries import FunctionId, ItemCount, ResourceId
from exchange.http.responses import page_meta, payload_route
from exchange.http.routes.messages import parse_timestamp
from exchange.services.access import Principal
from exchange.services.read_side import ArchiveSearch, ReadSide


def archive_router(read_side: ReadSide) -> Router:
    @get("/archive", summary="Messages delivered to you, newest first")
    async def archive(
        principal: Principal,
        start_date_time: Annotated[str | None, QueryParameter(name="startDateTime")] = None,
        end_date_time: Annotated[str | None, QueryParameter(name="endDateTime")] = None,
        business_function_id: FunctionId = None,
        business_function_resource_id: ResourceId = None,
        item_count: ItemCount = 100,
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
            "meta": page_meta(page, item_count),
        }

    item = payload_route(
        "/archive/{messageContextId:str}",
        "item",
        read_side.archived_payload,
        summary="A delivered payload, with the hub's re-signature",
    )

    return Router(
        path="/idx/v1",
        route_handlers=[archive, item],
        tags=["outbound archive"],
        opt=requires_token("ARCH_RETRIEVE"),
    )
