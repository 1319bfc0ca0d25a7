"""The outbound archive screen: what was delivered to the participant, findable and retrievable re-signed."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
from litestar import Request, Response, get
from litestar.response import Redirect, Template

from exchange.web.api_client import ApiProblemError
from exchange.web.pages import Web, api_filters, matching, page_links, page_query, query_of, search_text, with_search
from exchange.web.translog import download

ENTITY = "ARCH_RETRIEVE"
PAGE_SIZE = 50
FILTERS = ("startDateTime", "endDateTime", "businessFunctionId", "businessFunctionResourceId")
PREVIEW_LIMIT = 20_000  # characters of pretty-printed payload shown on the page; the download has it all


def archive_handlers(web: Web) -> list[Any]:
    @get("/archive")
    async def search(request: Request[Any, Any, Any]) -> Response[Any] | Template:
        session = web.session(request, ENTITY)
        filters = query_of(request, FILTERS)
        text = search_text(request)
        cursor = request.query_params.get("cursor")
        params = page_query(cursor, PAGE_SIZE, **api_filters(filters))
        api = web.api(request)
        if text and cursor is None:
            # A whole message context id goes straight to its item, when the participant holds it.
            try:
                await api.call(session, "GET", f"/idx/v1/archive/{text}")
            except ApiProblemError as problem:
                if problem.status != 404:
                    raise
            else:
                return Redirect(f"/app/archive/{text}", status_code=303)
        answer = (await api.call(session, "GET", "/idx/v1/archive", params=params)).json()
        items = matching(answer["data"], text, ("messageContextId", "initiatingParticipantId"))
        return web.render(
            request,
            "archive.html",
            session,
            screen="archive",
            filters=filters,
            text=text,
            items=items,
            meta=answer["meta"],
            **page_links("/app/archive", with_search(filters, text), cursor, answer["meta"]["nextCursor"]),
        )

    @get("/archive/{messageContextId:str}")
    async def item(request: Request[Any, Any, Any], messageContextId: str) -> Template:  # noqa: N803
        session = web.session(request, ENTITY)
        answer = await web.api(request).call(session, "GET", f"/idx/v1/archive/{messageContextId}")
        return web.render(
            request,
            "archive_item.html",
            session,
            screen="archive",
            message_context_id=messageContextId,
            **message_facts(answer),
        )

    @get("/archive/{messageContextId:str}/payload")
    async def payload(request: Request[Any, Any, Any], messageContextId: str) -> Response[bytes]:  # noqa: N803
        session = web.session(request, ENTITY)
        answer = await web.api(request).call(session, "GET", f"/idx/v1/archive/{messageContextId}")
        return download(answer.content, messageContextId, answer.headers)

    return [search, item, payload]


def message_facts(answer: httpx.Response) -> dict[str, Any]:
    """What a message screen shows of a fetched payload: its sender, both signatures, size, digest and a preview."""
    return {
        "sender": answer.headers.get("x-initiatingparticipantid"),
        "signature": answer.headers.get("x-signature"),
        "original_signature": answer.headers.get("x-original-signature"),
        "size": len(answer.content),
        "sha256": hashlib.sha256(answer.content).hexdigest(),
        "preview": preview(answer.content),
    }


def preview(payload: bytes) -> str:
    try:
        text = json.dumps(json.loads(payload), indent=2)
    except ValueError:
        text = payload.decode("utf-8", errors="replace")
    return text if len(text) <= PREVIEW_LIMIT else text[:PREVIEW_LIMIT] + "\n… (download the payload for the rest)"
