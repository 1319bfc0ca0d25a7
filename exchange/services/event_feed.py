"""A participant's notifications: those after a sequence number it has seen, then new ones as they happen."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy

from exchange.messaging.notifications import subject_of

BACKLOG = 10_000  # frames held for a slow reader

_decode = msgspec.json.Decoder(dict[str, Any]).decode


class EventFeed:
    def __init__(self, js: JetStreamContext) -> None:
        self._js = js

    @contextlib.asynccontextmanager
    async def follow(self, participant_id: str, since: int | None) -> AsyncIterator[AsyncIterator[str]]:
        """The participant's frames (JSON text) with a sequence above `since`, replayed and then live; each once."""
        frames: asyncio.Queue[bytes] = asyncio.Queue(maxsize=BACKLOG)

        async def on_frame(msg: Msg) -> None:
            await frames.put(msg.data)

        # Through NATS rather than process memory, so every server process sees every participant's events.
        subscription = await self._js.subscribe(
            subject_of(participant_id),
            cb=on_frame,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.ALL if since is not None else DeliverPolicy.NEW,
        )
        # Once the server has the consumer and its subscription, every event from now on reaches the caller.
        await self._js._nc.flush()
        try:
            yield _unseen(frames, since or 0)
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()


async def _unseen(frames: asyncio.Queue[bytes], after: int) -> AsyncIterator[str]:
    last = after
    while True:
        data = await frames.get()
        sequence = int(_decode(data).get("sequence", 0))
        if sequence <= last:
            continue  # replayed before `since`, or published twice: the client has it already
        last = sequence
        yield data.decode()
