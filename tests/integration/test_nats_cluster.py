"""The exchange's NATS parts on a three-node JetStream cluster: credentials, replicas, reconnects, leader changes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import pytest
from nats.js.api import ClusterInfo
from nats.js.errors import NoStreamResponseError

from exchange.messaging.cluster import LocalNatsCluster
from exchange.messaging.connection import NatsUnavailableError, connect_nats
from exchange.messaging.natsserver import EmbeddedNatsServer
from exchange.messaging.streams import Publication, default_replicas, ensure_file_stream, publish_confirmed
from tests.nats_cluster import nats_cluster as nats_cluster


def _index_of(cluster: LocalNatsCluster, server_name: str | None) -> int:
    return [node.name for node in cluster.nodes].index(server_name or "")


async def _connect_without_credentials(port: int) -> bytes:
    """Speak to a port by hand as a client without credentials (nats-py leaves refused transports behind)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        assert (await reader.readline()).startswith(b"INFO ")
        writer.write(b'CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n')
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), timeout=10)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_the_cluster_refuses_a_client_without_its_token(nats_cluster: LocalNatsCluster) -> None:
    """Every node's client port requires the token; one with the token gets in."""
    for node in nats_cluster.nodes:
        assert await _connect_without_credentials(node.client_port) == b"-ERR 'Authorization Violation'\r\n"
    nc = await connect_nats(nats_cluster.url, token=nats_cluster.token)
    assert nc.is_connected
    await nc.close()


async def test_the_route_ports_refuse_a_stranger(nats_cluster: LocalNatsCluster) -> None:
    """A local process cannot join the cluster as a route without the route password (and publish that way)."""
    for node in nats_cluster.nodes:
        assert await _connect_without_credentials(node.route_port) == b"-ERR 'Authorization Violation'\r\n"


async def test_streams_default_to_three_replicas_on_the_cluster(nats_cluster: LocalNatsCluster) -> None:
    """The default asks JetStream: three replicas fit on three servers, and the probe stream is gone after."""
    nc = await connect_nats(nats_cluster.url, token=nats_cluster.token)
    js = nc.jetstream()
    assert await default_replicas(js, ["NOT_YET"]) == 3
    assert await js.streams_info() == []
    await nc.close()


async def test_streams_default_to_one_replica_on_a_single_server(nats_server: EmbeddedNatsServer) -> None:
    """A nats-server outside any cluster holds one replica; asking it for three is a clear error."""
    nc = await connect_nats(nats_server.url)
    js = nc.jetstream()
    assert await default_replicas(js, []) == 1
    with pytest.raises(RuntimeError, match="--stream-replicas"):
        await ensure_file_stream(js, "TOO_MANY", "too-many", 7200, replicas=3)
    await nc.close()


async def test_publishing_where_no_stream_answers_gives_up_within_its_bound(nats_server: EmbeddedNatsServer) -> None:
    """Retries are bounded: with no stream for the subject, the publisher gets the error after `retry_within`."""
    nc = await connect_nats(nats_server.url)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(NoStreamResponseError):
        await publish_confirmed(nc.jetstream(), [Publication("nowhere.x", b"x", "1")], retry_within=1.0)
    assert 0.5 < loop.time() - started < 5
    await nc.close()


async def test_an_existing_stream_is_scaled_to_the_replicas_asked_for(nats_cluster: LocalNatsCluster) -> None:
    """A stream made with one replica gets three on the next start, keeping its messages; and it keeps three."""
    nc = await connect_nats(nats_cluster.url, token=nats_cluster.token)
    js = nc.jetstream()
    await ensure_file_stream(js, "SCALED", "scaled", 3600, replicas=1)
    await js.publish("scaled.one", b"kept")
    await js.pull_subscribe("scaled.>", durable="reader", stream="SCALED")
    await ensure_file_stream(js, "SCALED", "scaled", 3600, replicas=await default_replicas(js, ["SCALED"]))
    info = await js.stream_info("SCALED")
    assert info.config.num_replicas == 3
    assert info.state.messages == 1
    # The durable consumer follows its stream to three replicas (a raft group of its own) within a few seconds.
    deadline = asyncio.get_running_loop().time() + 20
    while len(((await js.consumer_info("SCALED", "reader")).cluster or ClusterInfo()).replicas or []) != 2:
        assert asyncio.get_running_loop().time() < deadline, "the consumer kept one replica"
        await asyncio.sleep(0.2)
    # A default worked out while the stream has three never scales it down.
    assert await default_replicas(js, ["SCALED"]) == 3
    await nc.close()


async def test_the_connection_moves_to_another_server_when_its_own_dies(nats_cluster: LocalNatsCluster) -> None:
    """kill -9 of the node a client is on: it reconnects to another and publishes on."""
    nc = await connect_nats(nats_cluster.url, token=nats_cluster.token)
    js = nc.jetstream()
    await ensure_file_stream(js, "MOVED", "moved", 3600, replicas=3)
    before = nc.connected_url
    assert before is not None
    victim = next(i for i, node in enumerate(nats_cluster.nodes) if node.client_port == before.port)
    nats_cluster.kill(victim)
    await publish_confirmed(js, [Publication("moved.after", b"x", "after-kill")])
    assert nc.connected_url is not None
    assert nc.connected_url.port != before.port
    await nc.close()


async def test_publishing_through_a_leader_kill_stores_each_message_once(nats_cluster: LocalNatsCluster) -> None:
    """Batches published while the stream's leader is killed -9: every message stored, none twice."""
    nc = await connect_nats(nats_cluster.url, token=nats_cluster.token)
    js = nc.jetstream(publish_async_max_pending=256)
    await ensure_file_stream(js, "LEADER", "leader", 3600, replicas=3)
    leader = (await js.stream_info("LEADER")).cluster
    assert leader is not None
    old_leader = leader.leader
    batches, size = 30, 50
    published = 0
    for batch in range(batches):
        if batch == 5:
            nats_cluster.kill(_index_of(nats_cluster, old_leader))
        publications = [Publication(f"leader.{i % 7}", b"m", f"{batch}-{i}") for i in range(size)]
        await publish_confirmed(js, publications, retry_within=45)
        published += size
    # The first batch again, as a publisher whose acks were lost would send it: the new leader drops every copy.
    await publish_confirmed(js, [Publication(f"leader.{i % 7}", b"m", f"0-{i}") for i in range(size)])
    info = await js.stream_info("LEADER")
    assert info.state.messages == published == batches * size
    assert info.cluster is not None
    assert info.cluster.leader != old_leader
    await nc.close()


async def test_the_cluster_command_prints_its_url_and_stops_its_nodes_on_sigterm(tmp_path: Path) -> None:
    """`python -m exchange.messaging.cluster DIR`: the URL and token file to use, R3 streams, nothing left after."""
    command = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "exchange.messaging.cluster", str(tmp_path / "c"), stdout=asyncio.subprocess.PIPE
    )
    assert command.stdout is not None
    try:
        url = (await asyncio.wait_for(command.stdout.readline(), timeout=60)).decode().strip()
        token_file = (await asyncio.wait_for(command.stdout.readline(), timeout=10)).decode().strip()
        assert url.startswith("IDX_NATS_URL=nats://127.0.0.1:")
        assert token_file == f"IDX_NATS_TOKEN_FILE={tmp_path / 'c' / 'nats.token'}"
        nc = await connect_nats(url.partition("=")[2], token=(tmp_path / "c" / "nats.token").read_text().strip())
        assert await default_replicas(nc.jetstream(), []) == 3
        await nc.close()
        pids = [int((tmp_path / "c" / f"n{i}" / "nats.pid").read_text()) for i in (1, 2, 3)]
    finally:
        command.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(command.wait(), timeout=30) == 0
    assert [pid for pid in pids if _alive(pid)] == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_a_wrong_token_stops_the_first_connection_with_a_reason(nats_cluster: LocalNatsCluster) -> None:
    """Refused credentials are not retried for ever: NatsUnavailableError names the refusal and where to look."""
    with pytest.raises(NatsUnavailableError, match=r"Authorization Violation.*IDX_NATS_TOKEN"):
        await connect_nats(nats_cluster.url, token="wrong", initial_rounds=2)


async def test_a_node_down_at_the_first_connection_is_tried_again_later(nats_cluster: LocalNatsCluster) -> None:
    """The first server of the list down at start, then the whole cluster for longer than the first connection's
    rounds: the client never gives up, and comes back to whichever node returns, the first one included."""
    nats_cluster.kill(0)
    nc = await connect_nats(nats_cluster.url, token=nats_cluster.token, initial_rounds=2)
    for index in (1, 2):
        nats_cluster.kill(index)
    await asyncio.sleep(3)  # an outage of several rounds of 0.5 s (a duration, not a wait for a state)
    assert not nc.is_connected
    await asyncio.to_thread(nats_cluster.restart, 0, 1)
    deadline = asyncio.get_running_loop().time() + 30
    while not nc.is_connected:
        assert not nc.is_closed, "the client gave up reconnecting"
        assert asyncio.get_running_loop().time() < deadline, "the client never reconnected"
        await asyncio.sleep(0.1)
    await nc.close()
