"""Nothing lost: every message that got a 200 survives `kill -9` of the exchange and its nats-server."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from exchange.functions.bpqd.sample import sample_body
from simulators.client import ParticipantClient, new_context_id, operator_client, register
from tests.e2e.conftest import PQD_SCOPES
from tests.e2e.queue_helpers import wait_for_queue
from tests.harness import ServerProcess
from tests.problems import assert_problem

SUBMISSIONS = 200


async def test_every_accepted_message_is_queued_exactly_once_after_kill_9(crash_server: ServerProcess) -> None:
    """200 concurrent submissions, kill -9 of idx serve and nats-server mid-flight, restart: each 200 is queued once."""
    operator = await operator_client(crash_server.base_url, crash_server.operator_secret)
    mc = ParticipantClient(crash_server.base_url, await register(operator, "CRASHMC", ["MC"], PQD_SCOPES))
    lnsps = [
        ParticipantClient(crash_server.base_url, await register(operator, name, ["LNSP"], PQD_SCOPES))
        for name in ("CRASHL1", "CRASHL2")
    ]
    await operator.close()
    await mc.login()
    await mc.enrol()
    recipients = [lnsp.participant_id for lnsp in lnsps]
    prepared = []
    for seed in range(SUBMISSIONS):
        body = sample_body(mc.participant_id, recipients, seed=seed)
        prepared.append((new_context_id("pqd", "bpqd", "Medium", mc.participant_id), body, mc.sign(body)))

    accepted: list[str] = []
    answered = 0
    half_answered = asyncio.Event()

    async def submit(context_id: str, body: bytes, signature: str) -> None:
        nonlocal answered
        try:
            response = await mc.submit(body, context_id=context_id, signature=signature)
        except httpx.HTTPError:
            return  # the connection died with the server: no 200, no promise
        finally:
            answered += 1
            if answered >= SUBMISSIONS // 2:
                half_answered.set()
        if response.status_code == 200:
            accepted.append(context_id)

    tasks = [asyncio.create_task(submit(*p)) for p in prepared]
    await half_answered.wait()
    crash_server.kill9()
    await asyncio.gather(*tasks)
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
