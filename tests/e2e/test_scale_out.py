"""Two `idx serve` processes sharing one PostgreSQL database and a three-node NATS cluster.

Each serves the whole API, each follower of the event store runs in exactly one of them under a lease, and the
loss of a process (kill -9, or a pause past its lease: SIGSTOP stands in for a network partition) or of a NATS
node loses and duplicates nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from exchange.eventstore.ledger import IDLE_TRANSACTION_TIMEOUT
from exchange.functions.bpqd.sample import sample_body
from exchange.messaging.cluster import LocalNatsCluster
from simulators.client import ParticipantClient
from tests.e2e.queue_helpers import (
    PQD_SCOPES,
    assert_each_accepted_message_queued_once,
    queued_ids,
    senders_and_recipients,
    under_load,
)
from tests.harness import ServerProcess
from tests.nats_cluster import nats_cluster as nats_cluster

PASSPHRASE = "two processes, one exchange"
# The API's promise: a dead holder's lease is taken over within 5 s (TTL 3 s). A little room for a loaded machine
# answering the health checks that observe it.
TAKEOVER_SECONDS = 5.0
OBSERVATION_SLACK = 1.5
# A paused (partitioned) holder may be inside a batch's transaction, holding its lease row until PostgreSQL ends
# its idle session (IDLE_TRANSACTION_TIMEOUT): the other process's takeover may wait that much longer.
PARTITION_TAKEOVER_SECONDS = TAKEOVER_SECONDS + IDLE_TRANSACTION_TIMEOUT + 2.0
# Senders also read the transaction log, to see that it agrees with the queues.
SENDER_SCOPES = [*PQD_SCOPES, "TRANSLOG_TRANSLOG"]
LOAD_SECONDS = 3.0  # of submissions before a fault and after it, each
RECOVERY_SECONDS = 60


def _process(server: ServerProcess) -> dict[str, Any]:
    answer = httpx.get(f"{server.base_url}/healthz", timeout=5)
    process: dict[str, Any] = answer.json()["process"]
    return process


def _leases(server: ServerProcess) -> set[str]:
    return set(_process(server)["leases"])


async def _all_leases_held_by(server: ServerProcess, expected: set[str], within: float) -> float:
    """Seconds until `server` holds every lease in `expected`; fails when that takes longer than `within`."""
    started = time.monotonic()
    while True:
        held = await asyncio.to_thread(_leases, server)
        if held >= expected:
            return time.monotonic() - started
        if time.monotonic() - started >= within:
            raise AssertionError(
                f"after {within} s it holds {sorted(held)} of {sorted(expected)}; its log:\n{server.log_tail(60)}"
            )
        await asyncio.sleep(0.1)


@pytest.fixture
def pair(
    nats_cluster: LocalNatsCluster, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ServerProcess, ServerProcess, set[str]]]:
    """Two exchanges on one database and one NATS cluster, and the followers the first held while alone."""
    monkeypatch.setenv("IDX_NATS_TOKEN", nats_cluster.token)
    common = ("--database-url", postgres_url, "--nats-url", nats_cluster.url, "--stream-replicas", "3")
    servers = [
        ServerProcess(
            tmp_path / name,
            extra_args=(*common, "--rate-limit", "0"),
            env={"IDX_KEY_PASSPHRASE": PASSPHRASE},
        )
        for name in ("first", "second")
    ]
    first, second = servers
    try:
        first.start(timeout=120)
        # Alone, a process takes every lease at once: that is the set of followers of this exchange.
        followers = _leases(first)
        second.start(timeout=120)
        yield first, second, followers
    finally:
        for server in servers:
            if server.process is not None and server.process.poll() is None:
                os.kill(server.process.pid, signal.SIGCONT)  # a paused process cannot stop
            server.stop()


@pytest.fixture
async def people(
    pair: tuple[ServerProcess, ServerProcess, set[str]],
) -> AsyncIterator[tuple[list[ParticipantClient], list[ParticipantClient]]]:
    """Through the first process: two enrolled MCs and two LNSPs; each client talks to the process given."""
    first, second, _ = pair
    urls = [first.base_url, second.base_url]
    async with senders_and_recipients(first, "SO", urls, urls[::-1], sender_scopes=SENDER_SCOPES) as people:
        yield people


async def test_a_message_sent_through_one_process_is_listed_fetched_and_deleted_through_the_other(
    pair: tuple[ServerProcess, ServerProcess, set[str]],
    people: tuple[list[ParticipantClient], list[ParticipantClient]],
) -> None:
    """Send through the first, list, fetch byte-identical and delete through the second; each lease held once."""
    first, second, followers = pair
    assert {"relay", "deliverer"} <= followers, f"the followers named are {sorted(followers)}"
    (through_first, _), (at_second, _) = people
    body = sample_body(through_first.participant_id, [at_second.participant_id], seed=1)
    sent = await through_first.submit(body)
    assert sent.status_code == 200, sent.text
    context_id = sent.json()["data"]["messageContextId"]

    deadline = time.monotonic() + 30
    while context_id not in await queued_ids(at_second):
        assert time.monotonic() < deadline, "the message never reached the queue seen through the second process"
        await asyncio.sleep(0.1)
    fetched = await at_second.fetch(context_id)
    assert fetched.status_code == 200
    assert fetched.content == body
    assert (await at_second.delete(context_id)).status_code == 204
    assert context_id not in await queued_ids(at_second)

    one, two = _process(first), _process(second)
    assert one["pid"] != two["pid"]
    held_by_one, held_by_two = set(one["leases"]), set(two["leases"])
    assert held_by_one & held_by_two == set(), "a follower is leased by both processes"
    assert held_by_one | held_by_two == followers, "a follower is leased by neither process"


@contextlib.asynccontextmanager
async def _through(
    server: ServerProcess, *groups: list[ParticipantClient]
) -> AsyncIterator[list[list[ParticipantClient]]]:
    """The same participants (with their signing keys) talking to `server`, logged in there; closed afterwards,
    whatever the outcome (a client left open fails a later test with a ResourceWarning)."""
    moved = [
        [ParticipantClient(server.base_url, c.credentials, key=c.key, certificate=c.certificate) for c in group]
        for group in groups
    ]
    try:
        for group in moved:
            for client in group:
                await client.login()
        yield moved
    finally:
        for group in moved:
            for client in group:
                await client.close()


async def _every_accepted_message_queued_once(
    accepted: list[str], senders: list[ParticipantClient], recipients: list[ParticipantClient]
) -> None:
    await assert_each_accepted_message_queued_once(accepted, senders[0], recipients, RECOVERY_SECONDS)
    # The transaction log agrees: each accepted message has its row, seen by its sender.
    for context_id in accepted[:: max(1, len(accepted) // 20)]:
        rows = [await sender.http.get(f"/idx/v1/translog/{context_id}", headers=sender.headers()) for sender in senders]
        found = [row.json()["data"]["rows"] for row in rows if row.status_code == 200]
        assert len(found) == 1, [(row.status_code, row.text[:300]) for row in rows]
        (seen,) = found
        receivers = {row["receivingParticipantId"] for row in seen}
        assert receivers >= {recipient.participant_id for recipient in recipients}, context_id


async def test_kill_9_of_the_relay_holder_and_of_a_nats_node_under_load_loses_nothing(
    nats_cluster: LocalNatsCluster,
    pair: tuple[ServerProcess, ServerProcess, set[str]],
    people: tuple[list[ParticipantClient], list[ParticipantClient]],
) -> None:
    """Under load through both, kill -9 the relay's holder and one NATS node: the survivor holds every lease
    within 5 s, and every 200 is in each recipient's queue exactly once."""
    first, second, followers = pair
    senders, recipients = people
    holder, survivor = (first, second) if "relay" in _leases(first) else (second, first)
    # Clients of the survivor only from here: the holder's are about to lose their server.
    async with _through(survivor, senders, recipients) as (senders, recipients):
        async with under_load(senders, recipients) as accepted:
            await asyncio.sleep(LOAD_SECONDS)  # load before the faults (a duration of load, not a wait for a state)
            assert accepted, "nothing was accepted before the kill"
            holder.kill9()
            nats_cluster.kill(0)
            took = await _all_leases_held_by(survivor, followers, TAKEOVER_SECONDS + OBSERVATION_SLACK)
            before_restart = len(accepted)
            await asyncio.sleep(LOAD_SECONDS)
            assert len(accepted) > before_restart, "nothing was accepted after the takeover"
            await asyncio.to_thread(nats_cluster.restart, 0)
            await asyncio.sleep(LOAD_SECONDS)
        assert took <= TAKEOVER_SECONDS + OBSERVATION_SLACK
        await _every_accepted_message_queued_once(accepted, senders, recipients)


async def test_a_paused_process_loses_its_leases_and_its_late_writes_are_fenced_off(
    pair: tuple[ServerProcess, ServerProcess, set[str]],
    people: tuple[list[ParticipantClient], list[ParticipantClient]],
) -> None:
    """SIGSTOP the holder of every lease (a partition from the database) under load: its leases lapse and the other
    takes them over (within 5 s, plus the time PostgreSQL takes to end a paused transaction); resumed, the paused
    one holds none of them and nothing it had in hand is written twice."""
    first, second, followers = pair
    senders, recipients = people
    holder, other = (first, second) if "relay" in _leases(first) else (second, first)
    assert holder.process is not None
    async with _through(other, senders, recipients) as (senders, recipients):
        async with under_load(senders, recipients) as accepted:
            await asyncio.sleep(LOAD_SECONDS)
            os.kill(holder.process.pid, signal.SIGSTOP)
            took = await _all_leases_held_by(other, followers, PARTITION_TAKEOVER_SECONDS)
            await asyncio.sleep(LOAD_SECONDS)
            os.kill(holder.process.pid, signal.SIGCONT)
            await asyncio.sleep(LOAD_SECONDS)  # the resumed process finds its leases gone while the load goes on
        assert took <= PARTITION_TAKEOVER_SECONDS
        resumed, kept = _leases(holder), _leases(other)
        assert resumed & kept == set(), f"both processes hold {sorted(resumed & kept)}"
        assert resumed | kept == followers
        await _every_accepted_message_queued_once(accepted, senders, recipients)
