"""Limits on a request's head, at the socket and again in the app: 16 KiB per header, 64 KiB in all (431), and
read timeouts, so that a client can neither fill memory with headers nor hold a connection by sending half a
request.

uvicorn's httptools protocol keeps every header byte it is sent and has no timeout before the head is complete
(its `h11_max_incomplete_event_size` applies to h11 only), so `LimitedHttpToolsProtocol` adds both, keeping
httptools' speed. `limit_headers` checks the headers that reach the app, whatever server runs it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from exchange.http.problems import PROBLEM_JSON, PROBLEMS, HeadersTooLargeError, Problem, trace_id

log = structlog.get_logger(__name__)

MAX_HEADER = 16 * 1024  # one header's name and value
MAX_HEADERS = 64 * 1024  # every header of a request together
# The request line is not a header, but it arrives with them: the socket allows this much besides.
_MAX_REQUEST_LINE = 16 * 1024
HEAD_TIMEOUT = 10.0  # seconds from a request's first byte to the end of its headers
BODY_TIMEOUT = 30.0  # seconds a started body may go without a byte
_TIMEOUT = Problem(408, "request-timeout", "Request timeout")


def oversized_header(headers: list[tuple[bytes, bytes]]) -> str | None:
    """Why these headers break the limits, or None when they keep to them."""
    total = 0
    for name, value in headers:
        size = len(name) + len(value)
        if size > MAX_HEADER:
            return f"the header {name[:40].decode('latin-1')!r} has {size} bytes; the limit is {MAX_HEADER}"
        total += size
    if total > MAX_HEADERS:
        return f"the headers have {total} bytes together; the limit is {MAX_HEADERS}"
    return None


def limit_headers(app: ASGIApp) -> ASGIApp:
    """Refuse (431) a request whose headers break the limits, before any route sees it."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and (why := oversized_header(list(scope["headers"]))):
            raise HeadersTooLargeError(why)
        await app(scope, receive, send)

    return middleware


_REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


def _problem_bytes(problem: Problem, detail: str) -> bytes:
    """A whole problem response, for the socket level, where no app answers."""
    body = json.dumps(
        {
            "type": problem.type,
            "title": problem.title,
            "status": problem.status,
            "detail": detail,
            "traceId": trace_id(),
        }
    ).encode()
    head = b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % (
        problem.status,
        _REASONS[problem.status],
        PROBLEM_JSON.encode(),
        len(body),
    )
    return head + body


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a cap on the bytes of a request's head and timeouts on reading it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._awaiting_head = True
        self._head_bytes = 0
        self._header_bytes = 0
        self._too_large: str | None = None
        self._answered = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()  # a client that connects and sends nothing is also waited for only so long

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._answered:
            return  # refused: what else arrives before the close is not read
        if self._awaiting_head:
            # Counted before parsing: httptools holds a header in memory until it ends, however long it is.
            self._head_bytes += len(data)
            self._arm_head_timer()
        super().data_received(data)
        if self._too_large is None and self._awaiting_head and self._head_bytes > MAX_HEADERS + _MAX_REQUEST_LINE:
            self._too_large = f"the request's head is over {MAX_HEADERS + _MAX_REQUEST_LINE} bytes"
        if self._too_large is not None and not self._answered:
            self._answer(PROBLEMS[HeadersTooLargeError], self._too_large)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        size = len(name) + len(value)
        self._header_bytes += size
        if self._too_large is None and (size > MAX_HEADER or self._header_bytes > MAX_HEADERS):
            self._too_large = oversized_header(self.headers) or "the headers are too large"

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._head_bytes = 0
        self._cancel_timers()
        if self._too_large is not None:
            return  # answered 431 once parsing stops: no app sees this request
        super().on_headers_complete()
        if not self.parser.should_upgrade():
            self._arm_body_timer()

    def on_body(self, body: bytes) -> None:
        if self._too_large is not None:
            return
        super().on_body(body)
        self._arm_body_timer()

    def on_message_complete(self) -> None:
        if self._too_large is not None:
            return
        self._cancel_timers()
        self._awaiting_head = True  # what comes next on this connection is the head of another request
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._cancel_timers()  # the connection is the WebSocket protocol's from here on
        super().handle_websocket_upgrade()

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(HEAD_TIMEOUT, self._head_timed_out)

    def _arm_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
        self._body_timer = self.loop.call_later(BODY_TIMEOUT, self._body_timed_out)

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._head_bytes == 0:
            self.transport.close()  # connected and sent nothing: there is no request to answer
            return
        log.info("request_head_timeout", client=self.client, received=self._head_bytes)
        self._answer(_TIMEOUT, f"the headers did not arrive within {HEAD_TIMEOUT:g} s")

    def _body_timed_out(self) -> None:
        self._body_timer = None
        log.info("request_body_timeout", client=self.client)
        # The app may be waiting for the body: closing tells it the client is gone, and frees the connection.
        if self.cycle is not None and not self.cycle.response_started and not self.transport.is_closing():
            self.transport.write(_problem_bytes(_TIMEOUT, f"the body stalled for {BODY_TIMEOUT:g} s"))
        self.transport.close()

    def _answer(self, problem: Problem, detail: str) -> None:
        self._answered = True
        self._cancel_timers()
        if not self.transport.is_closing():
            self.transport.write(_problem_bytes(problem, detail))
            self.transport.close()
