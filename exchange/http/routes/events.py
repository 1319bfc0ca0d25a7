"""`GET /idx/v1/events` (WebSocket, `EVENT_NOTIFY`): a participant's notifications, replayable with `since`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from exchange.http.auth import requires_token
from exchange.services.access import Principal
from exchange.services.event_feed import EventFeed


def events_handler(feed: EventFeed) -> Any:
    # A refused token closes the socket with 4000 + the HTTP status, so that a client can tell 401 from 403.
    @websocket("/idx/v1/events", opt=requires_token("EVENT_NOTIFY"))
    async def events(
        socket: WebSocket[Any, Any, Any], principal: Principal, since: int | None = None, ready: bool = False
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
    since: int | None,
    *,
    ready: bool = False,
) -> None:
    """Send `participant_id`'s frames over an accepted socket until it closes: those after `since`, then new ones.

    `ready`: first send `{"eventType": "subscribed"}` (with `since` when given) once the subscription is live, so
    that a client knows that every event from then on reaches it. Opt-in: by default nothing is sent on connect
    but replayed and new events.
    """
    async with feed.follow(participant_id, since) as frames:
        if ready:
            subscribed: dict[str, Any] = {"eventType": "subscribed"}
            if since is not None:
                subscribed["since"] = since
            await socket.send_data(msgspec.json.encode(subscribed).decode(), mode="text")
        sender = asyncio.create_task(_forward(socket, frames))
        receiver = asyncio.create_task(_until_closed(socket))
        try:
            await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, receiver):
                task.cancel()
            await asyncio.gather(sender, receiver, return_exceptions=True)


async def _forward(socket: WebSocket[Any, Any, Any], frames: AsyncIterator[str]) -> None:
    async for frame in frames:
        await socket.send_data(frame, mode="text")


async def _until_closed(socket: WebSocket[Any, Any, Any]) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await socket.receive_data(mode="text")
