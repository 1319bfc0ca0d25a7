"""Waiting for JetStream acks ends: a publish nobody stores times out instead of hanging its publisher."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client

from exchange.messaging.natsserver import EmbeddedNatsServer
from exchange.messaging.streams import acknowledged, ensure_file_stream


@pytest.fixture
async def nc(nats_server: EmbeddedNatsServer) -> AsyncIterator[Client]:
    client = await nats.connect(nats_server.url)
    yield client
    await client.close()


async def test_acks_of_a_stream_are_awaited(nc: Client) -> None:
    """Publishes a stream stores are acknowledged, and the wait returns."""
    js = nc.jetstream()
    await ensure_file_stream(js, "ACKED", "acked", max_age_seconds=7200)
    acks = [await js.publish_async(f"acked.{i}", b"x") for i in range(3)]
    await acknowledged(acks, within=5)
    assert all(ack.done() and ack.result().stream == "ACKED" for ack in acks)


async def test_an_ack_that_never_comes_times_out_and_frees_its_place(nc: Client) -> None:
    """A listener that never answers stands for a stream that stopped storing: TimeoutError, nothing left pending."""
    silent = await nc.subscribe("silent.>")  # receives the publish, never acknowledges it
    js = nc.jetstream()
    acks = [await js.publish_async("silent.one", b"x")]
    with pytest.raises(TimeoutError):
        await acknowledged(acks, within=0.3)
    assert acks[0].cancelled()
    await asyncio.sleep(0)  # the done callbacks, which free the place, run on the next turn of the loop
    assert js.publish_async_pending() == 0
    await silent.unsubscribe()
