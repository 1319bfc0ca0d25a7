"""Routes handed out and never acknowledged (the deliverer died) are decided again as soon as a deliverer starts.

JetStream's own redelivery waits `ack_wait` (10 s) and, after a `kill -9` of nats-server, was seen not to come at
all; the deliverer reads such routes from the stream itself, so they arrive well before `ack_wait` has passed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec
import nats
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from exchange.messaging.natsserver import EmbeddedNatsServer
from exchange.messaging.routing import DURABLE, MAX_ACK_PENDING, STREAM, SUBJECT_PREFIX, Deliverer, Route, ensure_stream


def route(number: int) -> Route:
    return Route(
        message_context_id=f"pqd~bpqd~m~MDP1~{number:04d}",
        recipient="LNSP1",
        business_function_id="pqd",
        resource_id="bpqd",
        sender_id="MDP1",
        priority="Medium",
        message_type="message",
        size=10,
        submitted_at=datetime(2026, 7, 1, tzinfo=UTC),
        position=number,
    )


async def seven_routes_of_which_a_dead_deliverer_fetched_five_and_decided_one(js: JetStreamContext) -> None:
    """Routes 1 to 7 in the stream; a deliverer (the holder that died) fetched 1 to 5, acknowledged 1 and is gone."""
    await ensure_stream(js)
    for number in range(1, 8):
        await js.publish(f"{SUBJECT_PREFIX}.LNSP1.pqd.bpqd", msgspec.json.encode(route(number)))
    config = ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=10, max_ack_pending=MAX_ACK_PENDING)
    lost = await js.pull_subscribe(f"{SUBJECT_PREFIX}.>", durable=DURABLE, stream=STREAM, config=config)
    fetched = await lost.fetch(5, timeout=2.0)
    assert len(fetched) == 5
    await fetched[0].ack()
    await lost.unsubscribe()


async def test_unacknowledged_routes_arrive_at_once_when_a_deliverer_starts(nats_server: EmbeddedNatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await seven_routes_of_which_a_dead_deliverer_fetched_five_and_decided_one(js)

    arrived: set[int] = set()
    expected = {2, 3, 4, 5, 6, 7}  # the four fetched and unacknowledged, and the two never fetched
    all_arrived = asyncio.Event()

    async def arrive(routes: Sequence[Route]) -> None:
        arrived.update(r.position for r in routes)
        if arrived >= expected:
            all_arrived.set()

    deliverer = Deliverer(js, arrive)
    await deliverer.start()
    try:
        # Well inside the 10 s ack_wait: only the deliverer's own reading can bring them this soon.
        await asyncio.wait_for(all_arrived.wait(), 5.0)
    except TimeoutError:
        raise AssertionError(f"only {sorted(arrived)} arrived") from None
    finally:
        await deliverer.stop()
    await nc.close()


async def test_a_deliverer_fetches_only_under_its_lease_and_takes_over_its_predecessors_routes_first(
    nats_server: EmbeddedNatsServer,
) -> None:
    """Without the lease nothing is fetched; on taking it, the routes a dead holder fetched come first, in order,
    then the queues are recounted (`taken`), then newer routes follow."""
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await seven_routes_of_which_a_dead_deliverer_fetched_five_and_decided_one(js)

    seen: list[int | str] = []
    all_arrived = asyncio.Event()
    holds = False

    async def arrive(routes: Sequence[Route]) -> None:
        seen.extend(r.position for r in routes if r.position not in seen)
        if {2, 3, 4, 5, 6, 7} <= set(seen):
            all_arrived.set()

    async def taken() -> None:
        seen.append("taken")

    deliverer = Deliverer(js, arrive, leased=lambda: holds, taken=taken)
    await deliverer.start()
    try:
        await asyncio.sleep(1.0)  # what it would fetch in that time, it must not: another process holds the lease
        assert seen == []
        holds = True
        await asyncio.wait_for(all_arrived.wait(), 5.0)
    finally:
        await deliverer.stop()
    assert seen == [2, 3, 4, 5, "taken", 6, 7]
    await nc.close()
