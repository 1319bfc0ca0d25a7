"""`GET /idx/v1/events` (WebSocket, `EVENT_NOTIFY`): a participant's notifications, replayable with `since`."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from exchange.http.auth import requires_token
from exchange.http.problems import problem_of
from exchange.kernel.errors import MalformedError, ServiceError
from exchange.services.access import Principal
from exchange.services.event_feed import EventFeed

# ASCII digits only (int() would also take `1_0`, ` 1` and other scripts' digits), and no more than an int64 holds.
_SEQUENCE = re.compile(r"-?[0-9]{1,18}")


def events_handler(feed: EventFeed) -> Any:
    # A refused token closes the socket with 4000 + the HTTP status, so that a client can tell 401 from 403.
    @websocket("/idx/v1/events", opt=requires_token("EVENT_NOTIFY"))
    async def events(
        socket: WebSocket[Any, Any, Any], principal: Principal, since: str | None = None, ready: bool = False
    ) -> None:
        """Replays frames with a sequence above `since` (kept 7 days), then sends new ones as they happen.
        With `ready=true` the first frame is `{"eventType": "subscribed"}`, sent once the subscription is live."""
        await socket.accept()
        await stream_events(socket, feed, principal.participant_id, since, ready=ready)

    return events


async def stream_events(
    socket: WebSocket[Any, Any, Any],
    feed: EventFeed,
    participant_id: str,
    since: str | None,
    *,
    ready: bool = False,
) -> None:
    """Send `participant_id`'s frames over an accepted socket until it closes: those after `since`, then new ones.

    `ready`: first send `{"eventType": "subscribed"}` (with `since` when given) once the subscription is live, so
    that a client knows that every event from then on reaches it. Opt-in: by default nothing is sent on connect
    but replayed and new events.

    `since` is taken as text and read here: a handshake refused by the framework reaches the client as a bare
    403, while a close code of 4000 + the HTTP status tells it what was wrong (4400 for `since=abc`).
    """
    try:
        after = sequence_of(since)
    except ServiceError as problem:
        await socket.close(code=4000 + problem_of(problem).status, reason=problem.detail[:120])
        return
    async with feed.follow(participant_id, after) as frames:
        if ready:
            subscribed: dict[str, Any] = {"eventType": "subscribed"}
            if after is not None:
                subscribed["since"] = after
            await socket.send_data(msgspec.json.encode(subscribed).decode(), mode="text")
        sender = asyncio.create_task(_forward(socket, frames))
        receiver = asyncio.create_task(_until_closed(socket))
        try:
            await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, receiver):
                task.cancel()
            await asyncio.gather(sender, receiver, return_exceptions=True)


def sequence_of(since: str | None) -> int | None:
    """The `since` query parameter as a sequence number; MalformedError unless it is a whole number."""
    if since is None:
        return None
    if not _SEQUENCE.fullmatch(since):
        raise MalformedError(f"since must be a whole number (a sequence), not {since[:40]!r}")
    return int(since)


async def _forward(socket: WebSocket[Any, Any, Any], frames: AsyncIterator[str]) -> None:
    async for frame in frames:
        await socket.send_data(frame, mode="text")


async def _until_closed(socket: WebSocket[Any, Any, Any]) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await socket.receive_data(mode="text")
