"""The transaction log screen: filter, sort, advanced search, a message's related rows, payload and CSV."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response, get
from litestar.response import Template

from exchange.web.pages import Web, api_filters, page_links, page_query, query_of, with_query

ENTITY = "TRANSLOG_TRANSLOG"
PAGE_SIZE = 50
BASIC = ("fromDateTime", "toDateTime", "businessFunctionId", "businessFunctionResourceId", "status")
ADVANCED = ("messageContextId", "initiatingParticipantId", "receivingParticipantId", "messageType", "priority")
# Message rows carry a delivery status; flow-control rows (messageType flowControl) the queue's status.
STATUSES = (
    "delivery_pending", "completed", "removed", "expired", "message_rejected", "message_acked",
    "Operational", "Warned", "Stopped",
)  # fmt: skip
COLUMNS = (
    ("createdDateTime", "Created"),
    ("messageContextId", "Message context id"),
    ("businessFunctionId", "Function"),
    ("priority", "Priority"),
    ("initiatingParticipantId", "From"),
    ("receivingParticipantId", "To"),
    ("status", "Status"),
    ("statusDateTime", "Status changed"),
    ("size", "Size"),
)


def translog_handlers(web: Web) -> list[Any]:
    @get("/translog")
    async def search(request: Request[Any, Any, Any]) -> Template:
        session = web.session(request, ENTITY)
        filters = query_of(request, (*BASIC, *ADVANCED))
        sort = request.query_params.get("sort") or "-createdDateTime"
        cursor = request.query_params.get("cursor")
        params = page_query(cursor, PAGE_SIZE, **api_filters(filters), sort=sort)
        answer = (await web.api(request).call(session, "GET", "/idx/v1/translog", params=params)).json()
        return web.render(
            request,
            "translog.html",
            session,
            screen="translog",
            filters=filters,
            advanced_open=any(name in filters for name in ADVANCED),
            statuses=STATUSES,
            columns=COLUMNS,
            sort=sort,
            rows=answer["data"],
            meta=answer["meta"],
            sort_link=lambda field: with_query("/app/translog", {**filters, "sort": _toggled(sort, field)}),
            **page_links("/app/translog", {**filters, "sort": sort}, cursor, answer["meta"]["nextCursor"]),
            csv_link=with_query("/app/translog.csv", {**filters, "sort": sort}),
        )

    @get("/translog.csv")
    async def export(request: Request[Any, Any, Any]) -> Response[bytes]:
        session = web.session(request, ENTITY)
        params = {**api_filters(query_of(request, (*BASIC, *ADVANCED))), "sort": request.query_params.get("sort")}
        answer = await web.api(request).call(
            session, "GET", "/idx/v1/translog", params={k: v for k, v in params.items() if v}, accept="text/csv"
        )
        return Response(
            answer.content,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="translog.csv"', "Cache-Control": "no-store"},
        )

    @get("/translog/{messageContextId:str}")
    async def message(request: Request[Any, Any, Any], messageContextId: str) -> Template:  # noqa: N803
        session = web.session(request, ENTITY)
        found = await web.api(request).data(session, "GET", f"/idx/v1/translog/{messageContextId}")
        first = found["rows"][0]
        return web.render(
            request,
            "translog_message.html",
            session,
            screen="translog",
            message_context_id=messageContextId,
            first=first,
            rows=found["rows"],
            history=found["history"],
            # The API hands the payload to its sender and receivers only; the link shows where it would work.
            may_download=session.participant_id
            in {first["initiatingParticipantId"], *(row["receivingParticipantId"] for row in found["rows"])},
        )

    @get("/translog/{messageContextId:str}/payload")
    async def payload(request: Request[Any, Any, Any], messageContextId: str) -> Response[bytes]:  # noqa: N803
        session = web.session(request, ENTITY)
        answer = await web.api(request).call(session, "GET", f"/idx/v1/translog/{messageContextId}/payload")
        return download(answer.content, messageContextId, answer.headers)

    return [search, export, message, payload]


def download(body: bytes, message_context_id: str, headers: Any) -> Response[bytes]:
    """A payload as a file named after its message, with its signatures alongside as the API gives them."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", message_context_id)
    passed = {key: headers[key] for key in ("x-signature", "x-original-signature") if key in headers}
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}.json"', "Cache-Control": "no-store", **passed},
    )


def _toggled(sort: str, field: str) -> str:
    """A column heading sorts by its field, ascending first; choosing it again turns the order round."""
    return f"-{field}" if sort == field else field
