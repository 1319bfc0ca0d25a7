"""`GET /idx/v1/events` (WebSocket, `EVENT_NOTIFY`): a participant's notifications, replayable with `since`."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import msgspec
import structlog
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy

from exchange.http.auth import requires_token
from exchange.messaging.notifications import subject_of
from exchange.services.access import Principal

log = structlog.get_logger(__name__)

_decode = msgspec.json.Decoder(dict[str, Any]).decode


def events_handler(js: JetStreamContext) -> Any:
    # A refused token closes the socket with 4000 + the HTTP status, so that a client can tell 401 from 403.
    @websocket("/idx/v1/events", opt=requires_token("EVENT_NOTIFY"))
    async def events(socket: WebSocket[Any, Any, Any], principal: Principal, since: int | None = None) -> None:
        """Replays frames with a sequence above `since` (kept 7 days), then sends new ones as they happen."""
        await socket.accept()
        await stream_events(socket, js, principal.participant_id, since)

    return events


async def stream_events(
    socket: WebSocket[Any, Any, Any], js: JetStreamContext, participant_id: str, since: int | None
) -> None:
    """Send `participant_id`'s frames over an accepted socket until it closes: those after `since`, then new ones."""
    frames: asyncio.Queue[bytes] = asyncio.Queue(maxsize=10_000)

    async def on_frame(msg: Msg) -> None:
        await frames.put(msg.data)

    # Through NATS rather than process memory, so every server process sees every participant's events.
    subscription = await js.subscribe(
        subject_of(participant_id),
        cb=on_frame,
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.ALL if since is not None else DeliverPolicy.NEW,
    )
    sender = asyncio.create_task(_forward(socket, frames, since or 0))
    receiver = asyncio.create_task(_until_closed(socket))
    try:
        await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, receiver):
            task.cancel()
        await asyncio.gather(sender, receiver, return_exceptions=True)
        with contextlib.suppress(Exception):
            await subscription.unsubscribe()


async def _forward(socket: WebSocket[Any, Any, Any], frames: asyncio.Queue[bytes], after: int) -> None:
    last = after
    while True:
        data = await frames.get()
        sequence = int(_decode(data).get("sequence", 0))
        if sequence <= last:
            continue  # replayed before `since`, or published twice: the client has it already
        last = sequence
        await socket.send_data(data.decode(), mode="text")


async def _until_closed(socket: WebSocket[Any, Any, Any]) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await socket.receive_data(mode="text")
