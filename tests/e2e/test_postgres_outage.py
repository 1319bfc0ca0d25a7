"""PostgreSQL stopped and started again under load: 503 with Retry-After while it is down, never a lost 200."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from exchange.functions.bpqd.sample import sample_body
from simulators.client import ParticipantClient, operator_client
from tests.e2e.queue_helpers import assert_each_accepted_message_queued_once, senders_and_recipients
from tests.harness import ServerProcess
from tests.postgres import PostgresCluster

PASSPHRASE = "correct horse battery staple"
LOAD_SECONDS = 3.0  # of submissions before the stop and after the start, each
OUTAGE_SECONDS = 8.0  # PostgreSQL is down this long: longer than a request waits for a connection (5 s)
BACK_WITHIN = 10.0  # seconds after PostgreSQL is back by which the exchange answers 200 again
RECOVERY_SECONDS = 60  # after the load, within which every accepted message is in each queue


@pytest.fixture
def pg_server(own_postgres: PostgresCluster, tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(
        tmp_path / "data",
        extra_args=("--database-url", own_postgres.create_database(), "--rate-limit", "0"),
        env={"IDX_KEY_PASSPHRASE": PASSPHRASE},
    )
    server.start(timeout=120)
    yield server
    server.stop()


@pytest.fixture
async def people(pg_server: ServerProcess) -> AsyncIterator[tuple[list[ParticipantClient], list[ParticipantClient]]]:
    """Two enrolled MCs (the senders) and two LNSPs (the recipients), logged in; closed after the test."""
    async with senders_and_recipients(pg_server, "PGO", [pg_server.base_url] * 2, [pg_server.base_url] * 2) as people:
        yield people


async def test_a_postgres_restart_under_load_answers_503_and_loses_no_accepted_message(
    own_postgres: PostgresCluster,
    pg_server: ServerProcess,
    people: tuple[list[ParticipantClient], list[ParticipantClient]],
) -> None:
    """Every answer is 200 or 503 with Retry-After; each 200 is queued once and logged; 200s again within 10 s."""
    senders, recipients = people
    recipient_ids = [recipient.participant_id for recipient in recipients]
    accepted: list[str] = []
    sender_of: dict[str, ParticipantClient] = {}
    answers: Counter[int] = Counter()
    without_retry_after: list[str] = []
    unanswered: list[str] = []
    last_200 = [0.0]
    stop = asyncio.Event()

    async def send(sender: ParticipantClient, offset: int) -> None:
        seed = offset
        while not stop.is_set():
            seed += 1
            try:
                response = await sender.submit(sample_body(sender.participant_id, recipient_ids, seed=seed))
            except httpx.HTTPError as error:
                unanswered.append(repr(error))  # within the client's 60 s: the exchange must answer, 503 at worst
                continue
            answers[response.status_code] += 1
            if response.status_code == 200:
                accepted.append(context_id := response.json()["data"]["messageContextId"])
                sender_of[context_id] = sender
                last_200[0] = time.monotonic()
            elif response.status_code == 503 and "retry-after" not in response.headers:
                without_retry_after.append(response.text)
            if response.status_code == 503:
                await asyncio.sleep(0.2)  # as a client told to come back later would, less patiently

    load = [asyncio.create_task(send(sender, 100_000 * i)) for i, sender in enumerate(senders)]
    try:
        await asyncio.sleep(LOAD_SECONDS)  # load before the stop (a duration of load, not a wait for a state)
        before_stop = len(accepted)
        await asyncio.to_thread(own_postgres.halt)
        stopped = time.monotonic()
        await asyncio.sleep(OUTAGE_SECONDS)
        health = await senders[0].http.get("/healthz")
        assert health.status_code == 503, health.text
        assert "event store" in health.text
        await asyncio.to_thread(own_postgres.start)
        back = time.monotonic()
        while last_200[0] < back:
            assert time.monotonic() - back < BACK_WITHIN, f"no 200 within {BACK_WITHIN}s of PostgreSQL's start"
            await asyncio.sleep(0.1)
        await asyncio.sleep(LOAD_SECONDS)
    finally:
        stop.set()
        await asyncio.gather(*load)
    assert before_stop > 0, "nothing was accepted before the stop"
    assert answers[503] > 0, f"no 503 in the {back - stopped:.0f}s PostgreSQL was down: {answers}"
    assert unanswered == [], f"requests without an answer: {unanswered[:2]}"
    assert set(answers) <= {200, 503}, f"answers other than 200 and 503: {answers}"
    assert without_retry_after == [], f"503s without Retry-After: {without_retry_after[:2]}"

    # Every 200 is in each recipient's queue exactly once (the marker sent now arrives after all that came before).
    await assert_each_accepted_message_queued_once(accepted, senders[0], recipients, RECOVERY_SECONDS)
    # ... and the transaction log agrees: one row per recipient, from its sender, in the queue.
    operator = await operator_client(pg_server.base_url, pg_server.operator_secret)
    try:
        for context_id in accepted:
            deadline = time.monotonic() + RECOVERY_SECONDS
            while True:
                answer = await operator.http.get(f"/idx/v1/translog/{context_id}", headers=operator.headers())
                rows = answer.json()["data"]["rows"] if answer.status_code == 200 else []
                logged = sorted((r["initiatingParticipantId"], r["receivingParticipantId"], r["status"]) for r in rows)
                expected = sorted((sender_of[context_id].participant_id, r, "completed") for r in recipient_ids)
                if logged == expected or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            assert logged == expected, f"the transaction log of {context_id}: {answer.text}"
    finally:
        await operator.close()
    health = await senders[0].http.get("/healthz")
    assert health.status_code == 200, health.text
