"""Nothing lost: every message that got a 200 survives `kill -9` of the exchange and its nats-server."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from exchange.functions.bpqd.sample import sample_body
from simulators.client import ParticipantClient, new_context_id, operator_client, register
from tests.e2e.queue_helpers import PQD_SCOPES, accepted_across_a_crash, settled_queues, signed_messages, wait_for_queue
from tests.e2e.read_side import new_participant
from tests.harness import ServerProcess
from tests.problems import assert_problem

SUBMISSIONS = 200
KILL_CYCLES = 20
CONCURRENT_SENDERS = 8
# Each cycle lets the restarted exchange accept this many more messages before the next kill -9, so that every
# cycle kills an exchange that is busy accepting, relaying and delivering.
ACCEPTED_PER_CYCLE = 15


async def mc_and_two_lnsps(server: ServerProcess, prefix: str) -> tuple[ParticipantClient, list[ParticipantClient]]:
    """An enrolled MC and two LNSPs holding the BPQD entity, their ids starting with `prefix`."""
    operator = await operator_client(server.base_url, server.operator_secret)
    try:
        mc = await new_participant(server, operator, f"{prefix}MC", ["MC"], enrol=True, scopes=PQD_SCOPES)
        lnsps = [await new_participant(server, operator, f"{prefix}L{n}", ["LNSP"], scopes=PQD_SCOPES) for n in (1, 2)]
    finally:
        await operator.close()
    return mc, lnsps


async def test_every_accepted_message_is_queued_exactly_once_after_kill_9(crash_server: ServerProcess) -> None:
    """200 concurrent submissions, kill -9 of idx serve and nats-server mid-flight, restart: each 200 is queued once."""
    mc, lnsps = await mc_and_two_lnsps(crash_server, "CRASH")
    prepared = signed_messages(mc, [lnsp.participant_id for lnsp in lnsps], range(SUBMISSIONS))

    # All at once: the kill comes when half of them are answered.
    accepted = await accepted_across_a_crash(
        mc, prepared, crash_after=SUBMISSIONS // 2, crash=crash_server.kill9, at_once=SUBMISSIONS
    )
    assert accepted, "no submission was accepted before the crash"

    crash_server.start()
    try:
        for client in (mc, *lnsps):
            await client.login()
        for lnsp in lnsps:
            ids = await wait_for_queue(lnsp, len(accepted), within=60)
            counts = Counter(ids)
            assert not [i for i, n in counts.items() if n > 1], "a message was queued twice"
            missing = set(accepted) - set(ids)
            assert not missing, f"{len(missing)} accepted messages were lost"
    finally:
        for client in (mc, *lnsps):
            await client.close()


async def test_a_resubmission_after_kill_9_still_gets_its_receipt_or_its_409(crash_server: ServerProcess) -> None:
    """Accepted, then kill -9 and restart: the same payload again answers the original receipt, another one 409."""
    operator = await operator_client(crash_server.base_url, crash_server.operator_secret)
    mc = ParticipantClient(crash_server.base_url, await register(operator, "AGAINMC", ["MC"], PQD_SCOPES))
    lnsp = await register(operator, "AGAINL", ["LNSP"], PQD_SCOPES)
    await operator.close()
    try:
        await mc.login()
        await mc.enrol()
        body = sample_body(mc.participant_id, [lnsp.participant_id], seed=1)
        first = await mc.submit(body)
        assert first.status_code == 200, first.text
        receipt = first.json()["data"]

        crash_server.kill9()
        crash_server.start()
        await mc.login()

        again = await mc.submit(body, context_id=receipt["messageContextId"])
        assert again.status_code == 200, again.text
        assert again.json()["data"] == receipt
        other = sample_body(mc.participant_id, [lnsp.participant_id], seed=2)
        assert_problem(await mc.submit(other, context_id=receipt["messageContextId"]), 409)
    finally:
        await mc.close()


@pytest.fixture
def crash_group_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """An exchange whose idx serve leads a process group of its own, so that kill -9 reaches all of it."""
    server = ServerProcess(tmp_path / "data", extra_args=("--rate-limit", "0"), own_process_group=True)
    server.start()
    yield server
    server.stop()


@pytest.mark.slow
async def test_every_accepted_message_is_queued_exactly_once_after_20_kill_9_cycles_under_load(
    crash_group_server: ServerProcess,
) -> None:
    """Senders submit without pause while the exchange is killed (-9, its whole process group and nats-server)
    and restarted 20 times; each submission is retried with its messageContextId until it gets its 200, as a
    participant's system would. At the end each recipient holds every accepted message exactly once and nothing
    else."""
    server = crash_group_server
    mc, lnsps = await mc_and_two_lnsps(server, "CYCLE")
    recipients = [lnsp.participant_id for lnsp in lnsps]
    accepted: set[str] = set()
    unexpected: list[str] = []
    failed_attempts = 0  # requests a kill cut off or that found the exchange down; each sent again
    stop = asyncio.Event()

    async def submit_until_accepted(body: bytes) -> None:
        nonlocal failed_attempts
        context_id = new_context_id("pqd", "bpqd", "Medium", mc.participant_id)
        signature = mc.sign(body)
        while True:
            try:
                response = await mc.submit(body, context_id=context_id, signature=signature)
            except httpx.HTTPError:
                failed_attempts += 1
                await asyncio.sleep(0.05)  # the exchange is down or restarting: the same message again
                continue
            if response.status_code == 200:
                accepted.add(context_id)
                return
            if response.status_code == 401:
                with contextlib.suppress(httpx.HTTPError):
                    await mc.login()
                continue
            if response.status_code == 503:
                await asyncio.sleep(0.05)
                continue
            unexpected.append(f"{context_id}: {response.status_code} {response.text}")
            return

    async def sender(number: int) -> None:
        seed = number * 1_000_000
        while not stop.is_set():
            seed += 1
            await submit_until_accepted(sample_body(mc.participant_id, recipients, seed=seed))

    senders = [asyncio.create_task(sender(number)) for number in range(CONCURRENT_SENDERS)]
    try:
        for _ in range(KILL_CYCLES):
            goal, deadline = len(accepted) + ACCEPTED_PER_CYCLE, time.monotonic() + 60
            while len(accepted) < goal:
                assert time.monotonic() < deadline, f"the exchange stopped accepting: {unexpected[:3]}"
                await asyncio.sleep(0.02)
            # A random moment within the burst, so that the kills land at different points of the pipeline.
            await asyncio.sleep(random.uniform(0, 0.3))
            await asyncio.to_thread(server.kill9)
            await asyncio.to_thread(server.start, 120.0)
        stop.set()
        # Every submission in flight finishes against the last exchange, retried until its 200.
        await asyncio.wait_for(asyncio.gather(*senders), 120)
    finally:
        stop.set()
        for task in senders:
            task.cancel()
        await asyncio.gather(*senders, return_exceptions=True)
    assert not unexpected, unexpected[:5]
    assert len(accepted) >= KILL_CYCLES * ACCEPTED_PER_CYCLE
    assert failed_attempts > 0, "the senders never met a kill: the cycles ran without load"

    try:
        for client in (mc, *lnsps):
            await client.login()
        for lnsp in lnsps:  # the recovered backlog first, so that the marker below arrives in its usual time
            await wait_for_queue(lnsp, len(accepted), within=180)
        for lnsp, queue in zip(lnsps, await settled_queues(mc, *lnsps), strict=True):
            duplicates = [i for i, n in Counter(queue).items() if n > 1]
            assert not duplicates, f"{len(duplicates)} messages were queued twice for {lnsp.participant_id}"
            missing, extra = accepted - set(queue), set(queue) - accepted
            assert not missing, f"{len(missing)} of {len(accepted)} accepted messages were lost"
            assert not extra, f"{len(extra)} messages that never got a 200 were queued"
    finally:
        for client in (mc, *lnsps):
            await client.close()
