"""`idx serve` on a three-node NATS JetStream cluster: R3 streams, delivery, and kill -9 of a node under load."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from exchange.functions.bpqd.sample import sample_body
from exchange.kernel.network import free_port
from exchange.messaging.cluster import LocalNatsCluster
from exchange.messaging.connection import connect_nats
from exchange.messaging.notifications import STREAM as EVENTS_STREAM
from exchange.messaging.routing import DURABLE
from exchange.messaging.routing import STREAM as DELIVERY_STREAM
from simulators.client import ParticipantClient
from tests.e2e.queue_helpers import (
    accepted_id,
    assert_each_accepted_message_queued_once,
    senders_and_recipients,
    under_load,
    wait_for_queue,
)
from tests.harness import ServerProcess
from tests.nats_cluster import nats_cluster as nats_cluster

# Seconds after the load within which every accepted message is in each queue, the node back.
RECOVERY_SECONDS = 60

LOAD_SECONDS = 3.0  # of submissions before the kill, while the node is down, and after its restart, each


@pytest.fixture
def cluster_server(
    nats_cluster: LocalNatsCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[ServerProcess]:
    """An exchange on the cluster, given its servers and its token (through IDX_NATS_TOKEN, as README says)."""
    monkeypatch.setenv("IDX_NATS_TOKEN", nats_cluster.token)
    extra: tuple[str, ...] = getattr(request, "param", ())
    server = ServerProcess(tmp_path / "data", extra_args=("--nats-url", nats_cluster.url, "--rate-limit", "0", *extra))
    server.start(timeout=90)
    yield server
    server.stop()


@pytest.fixture
async def people(
    cluster_server: ServerProcess,
) -> AsyncIterator[tuple[list[ParticipantClient], list[ParticipantClient]]]:
    """Three enrolled MCs (the senders) and two LNSPs (the recipients), logged in; closed after the test."""
    urls = [cluster_server.base_url] * 3
    async with senders_and_recipients(cluster_server, "NC", urls, urls[:2]) as people:
        yield people


async def _replicas(cluster: LocalNatsCluster, stream: str) -> int:
    nc = await connect_nats(cluster.url, token=cluster.token, name="test")
    try:
        return (await nc.jetstream().stream_info(stream)).config.num_replicas or 1
    finally:
        await nc.close()


async def _consumer_followers(cluster: LocalNatsCluster) -> list[str]:
    """The nodes besides its leader that hold the deliverer's durable consumer."""
    nc = await connect_nats(cluster.url, token=cluster.token, name="test")
    try:
        info = (await nc.jetstream().consumer_info(DELIVERY_STREAM, DURABLE)).cluster
        return [peer.name for peer in (info.replicas or [])] if info else []
    finally:
        await nc.close()


def _node_of_connection(cluster: LocalNatsCluster, name: str) -> int:
    """The node a client named `name` is connected to, from each node's monitoring endpoint."""
    for index, node in enumerate(cluster.nodes):
        url = f"http://127.0.0.1:{node.monitor_port}/connz"
        with urllib.request.urlopen(url, timeout=5) as answer:
            if any(connection.get("name") == name for connection in json.load(answer)["connections"]):
                return index
    raise AssertionError(f"no node has a connection named {name}")


async def _lead_from(cluster: LocalNatsCluster, node: str) -> None:
    """Move the delivery stream's and the deliverer consumer's leaders to `node`, and wait until they are there."""
    nc = await connect_nats(cluster.url, token=cluster.token, name="test")
    js = nc.jetstream()
    preferred = json.dumps({"placement": {"preferred": node}}).encode()
    try:
        deadline = time.monotonic() + 20
        while True:
            stream = (await js.stream_info(DELIVERY_STREAM)).cluster
            consumer = (await js.consumer_info(DELIVERY_STREAM, DURABLE)).cluster
            assert stream is not None and consumer is not None
            if stream.leader == consumer.leader == node:
                return
            assert time.monotonic() < deadline, f"the leaders did not move to {node}"
            if stream.leader != node:
                await nc.request(f"$JS.API.STREAM.LEADER.STEPDOWN.{DELIVERY_STREAM}", preferred, timeout=5)
            if consumer.leader != node:
                subject = f"$JS.API.CONSUMER.LEADER.STEPDOWN.{DELIVERY_STREAM}.{DURABLE}"
                await nc.request(subject, preferred, timeout=5)
            await asyncio.sleep(0.2)
    finally:
        await nc.close()


async def test_a_message_is_delivered_through_streams_of_three_replicas(
    nats_cluster: LocalNatsCluster,
    cluster_server: ServerProcess,
    people: tuple[list[ParticipantClient], list[ParticipantClient]],
) -> None:
    """Without --stream-replicas the exchange makes its streams R3 on the cluster, and a 200 reaches the queue."""
    for stream in (DELIVERY_STREAM, EVENTS_STREAM):
        assert await _replicas(nats_cluster, stream) == 3, stream
    assert len(await _consumer_followers(nats_cluster)) == 2, "the deliverer's consumer is not R3"
    (mc, *_), (lnsp, _) = people
    context_id = await accepted_id(mc, sample_body(mc.participant_id, [lnsp.participant_id], seed=1))
    assert context_id in await wait_for_queue(lnsp, 1, within=30)


@pytest.mark.parametrize("cluster_server", [("--stream-replicas", "3")], indirect=True)
async def test_kill_9_of_a_nats_node_under_load_loses_and_duplicates_nothing(
    nats_cluster: LocalNatsCluster,
    cluster_server: ServerProcess,
    people: tuple[list[ParticipantClient], list[ParticipantClient]],
) -> None:
    """Load while the exchange's node, leading its routes, is killed -9 and restarted: a 200 is queued once."""
    senders, recipients = people
    assert await _replicas(nats_cluster, DELIVERY_STREAM) == 3
    # The hardest node to lose: the one the exchange is connected to, leading the routes' stream and consumer.
    victim = _node_of_connection(nats_cluster, "idx-serve")
    await _lead_from(nats_cluster, nats_cluster.nodes[victim].name)
    async with under_load(senders, recipients) as accepted:
        await asyncio.sleep(LOAD_SECONDS)  # load before the kill (a duration of load, not a wait for a state)
        before_kill = len(accepted)
        nats_cluster.kill(victim)
        await asyncio.sleep(LOAD_SECONDS)
        during_outage = len(accepted) - before_kill
        await asyncio.to_thread(nats_cluster.restart, victim)
        await asyncio.sleep(LOAD_SECONDS)
    assert before_kill > 0, "nothing was accepted before the kill"
    assert during_outage > 0, "nothing was accepted while the node was down"

    # A message sent after the load reaches both queues only once everything before it did: recovered, no restart.
    await assert_each_accepted_message_queued_once(accepted, senders[0], recipients, RECOVERY_SECONDS)
    health = await senders[0].http.get("/healthz")
    assert health.status_code == 200, health.text
    log = await asyncio.to_thread(cluster_server.log_path.read_text)
    assert '"nats_disconnected"' in log
    assert '"nats_reconnected"' in log


def test_idx_serve_with_no_nats_server_to_reach_exits_with_a_reason(tmp_path: Path) -> None:
    """Nothing listens at --nats-url: idx serve says so and exits 1 after its first connection's rounds."""
    idx = Path(sys.executable).parent / "idx"
    address = f"nats://127.0.0.1:{free_port()}"
    result = subprocess.run(
        [str(idx), "serve", "--data-dir", str(tmp_path / "data"), "--port", str(free_port()), "--nats-url", address],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"no NATS server of {address} took a connection" in result.stderr
