"""Response shapes more than one route answers: the paging meta and a payload that may go gzipped."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Request, Response

from exchange.http.body import accepts_gzip, gzip_bytes
from exchange.kernel.paging import Page


class PageMeta(msgspec.Struct, rename="camel"):
    item_count: int
    next_cursor: str | None
    total_records: int
    total_pages: int


def page_meta(page: Page[Any], item_count: int) -> PageMeta:
    """The meta of a page of at most `item_count` items: how many there are here, in all, and on how many pages."""
    total_pages = -(-page.total_records // item_count)  # rounded up
    return PageMeta(len(page.items), page.next_cursor, page.total_records, total_pages)


async def payload_response(request: Request[Any, Any, Any], payload: bytes, headers: dict[str, str]) -> Response[bytes]:
    """A JSON payload as stored, gzipped (off the event loop) when the client accepts it."""
    if accepts_gzip(request.headers.get("accept-encoding")):
        payload = await asyncio.to_thread(gzip_bytes, payload)
        headers["Content-Encoding"] = "gzip"
    return Response(payload, media_type="application/json", headers=headers)
