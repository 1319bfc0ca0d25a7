"""Response shapes more than one route answers: views in camelCase, the paging meta, a payload that may go gzipped,
and the route that answers such a payload."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast, get_type_hints

import msgspec
import structlog
from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler

from exchange.http.body import accepts_gzip, gzip_bytes
from exchange.http.openapi import JSON_PAYLOAD
from exchange.kernel.paging import Page
from exchange.services.access import Principal
from exchange.services.mailbox import Fetched

T = TypeVar("T")


def camel_shape(view: type[T], name: str) -> type[T]:
    """A Struct called `name` with the fields of the dataclass `view`, named in camelCase in JSON.

    The service keeps its view; the route answers `msgspec.convert(view, Shape, from_attributes=True)`. For the
    type checker the shape is the view itself (declare it under `if TYPE_CHECKING: Shape = View`).
    """
    hints = get_type_hints(view)
    fields = [(field.name, hints[field.name]) for field in dataclasses.fields(view)]  # type: ignore[arg-type]
    return cast(type[T], msgspec.defstruct(name, fields, rename="camel"))


class PageMeta(msgspec.Struct, rename="camel"):
    item_count: int
    next_cursor: str | None
    total_records: int
    total_pages: int


def page_meta(page: Page[Any], item_count: int) -> PageMeta:
    """The meta of a page of at most `item_count` items: how many there are here, in all, and on how many pages."""
    total_pages = -(-page.total_records // item_count)  # rounded up
    return PageMeta(len(page.items), page.next_cursor, page.total_records, total_pages)


async def payload_response(
    request: Request[Any, Any, Any], fetched: Fetched, *, names_sender: bool = True
) -> Response[bytes]:
    """A stored JSON payload with the hub's re-signature and the sender's own, gzipped (off the event loop) when the
    client accepts it. The queue and the archive also name the sender, and say the answer varies with the encoding.
    """
    headers = {"x-signature": fetched.hub_signature, "x-original-signature": fetched.original_signature}
    if names_sender:
        headers |= {"x-initiatingParticipantId": fetched.sender_id, "Vary": "Accept-Encoding"}
    payload = fetched.payload
    if accepts_gzip(request.headers.get("accept-encoding")):
        payload = await asyncio.to_thread(gzip_bytes, payload)
        headers["Content-Encoding"] = "gzip"
    return Response(payload, media_type="application/json", headers=headers)


def payload_route(
    path: str,
    name: str,
    find: Callable[[str, str], Awaitable[Fetched]],
    *,
    names_sender: bool = True,
    **options: Any,
) -> HTTPRouteHandler:
    """`GET path`, a path ending in `{messageContextId:str}`: the payload `find(participant, messageContextId)` gives
    the caller, answered by `payload_response`. `options` go to Litestar's `get` (summary, operation_id)."""

    async def handler(
        request: Request[Any, Any, Any],
        principal: Principal,
        messageContextId: str,  # noqa: N803
    ) -> Response[bytes]:
        structlog.contextvars.bind_contextvars(messageContextId=messageContextId)
        found = await find(principal.participant_id, messageContextId)
        return await payload_response(request, found, names_sender=names_sender)

    handler.__name__ = name  # the handler's name in logs and in Litestar's registry
    return get(path, responses=JSON_PAYLOAD, **options)(handler)
