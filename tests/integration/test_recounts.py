"""Recount requests over core NATS: every process hears them, only the deliverer's holder recounts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NatsClient

from exchange.messaging.natsserver import EmbeddedNatsServer
from exchange.messaging.recounts import SUBJECT, Recounts


@pytest.fixture
async def connections(tmp_path: Path) -> AsyncIterator[list[NatsClient]]:
    """Two processes' connections to one nats-server."""
    server = EmbeddedNatsServer(tmp_path / "nats")
    await asyncio.to_thread(server.start)
    opened = [await nats.connect(server.url) for _ in range(2)]
    yield opened
    for nc in opened:
        await nc.close()
    await asyncio.to_thread(server.stop)


async def test_a_recount_asked_in_one_process_is_made_by_the_holder_only(connections: list[NatsClient]) -> None:
    """The process without the deliverer's lease asks; the holder recounts that queue, the asker does not."""
    recounted: dict[str, list[tuple[str, str]]] = {"holder": [], "other": []}
    heard = asyncio.Event()

    def settle(process: str) -> Callable[[str, str], Awaitable[None]]:
        async def recount(participant_id: str, business_function_id: str) -> None:
            recounted[process].append((participant_id, business_function_id))
            heard.set()

        return recount

    holder = Recounts(connections[0], settle("holder"), lambda: True)
    other = Recounts(connections[1], settle("other"), lambda: False)
    await holder.start()
    await other.start()
    try:
        await other.ask("LNSP1", "pqd")
        await asyncio.wait_for(heard.wait(), 5)
        # A request that is not a (participant, function) pair is refused, and does not stop the holder.
        await connections[1].publish(SUBJECT, b'{"not": "a pair"}')
        heard.clear()
        await other.ask("LNSP2", "recall")
        await asyncio.wait_for(heard.wait(), 5)
    finally:
        await other.stop()
        await holder.stop()
    assert recounted == {"holder": [("LNSP1", "pqd"), ("LNSP2", "recall")], "other": []}
