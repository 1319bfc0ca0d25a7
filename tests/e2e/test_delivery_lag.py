"""Admission on the delivery lag from outside: under a burst, submissions wait for delivery rather than pile up
behind it, and every one is accepted."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from exchange.functions.bpqd.sample import sample_body
from simulators.client import new_context_id, operator_client
from tests.e2e.queue_helpers import PQD_SCOPES, wait_for_queue
from tests.e2e.read_side import new_participant
from tests.harness import ServerProcess, running_server

LIMIT = 0.05  # seconds: tiny, so that a burst on any machine runs into it
WAIT = 0.5  # seconds a submission waits at most before it goes on
BURST_SECONDS = 8.0
CONCURRENCY = 32  # the bench's two senders of 16 connections
# The lag may pass the bound by what was already admitted and by one reading; a backlog that grew for the whole
# burst would pass this.
LAG_CEILING = 2.0  # seconds


@pytest.fixture(scope="module")
def paced_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(
        tmp_path_factory.mktemp("paced") / "data",
        "--rate-limit",
        "0",
        "--delivery-lag-limit",
        str(LIMIT),
        "--delivery-lag-wait",
        str(WAIT),
    ) as running:
        yield running


async def lag_waits(base_url: str) -> float:
    """Submissions that waited for delivery so far, however the wait ended, as /metrics counts them."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as anonymous:
        text = (await anonymous.get("/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "idx_submission_lag_waits_total"
    )


async def test_a_burst_is_answered_200_and_the_lag_stays_bounded(
    paced_server: ServerProcess,
) -> None:
    """Every answer is 200; /healthz's lag stays near the bound; submissions did wait; and every accepted message
    is queued exactly once."""
    operator = await operator_client(paced_server.base_url, paced_server.operator_secret)
    mc = await new_participant(paced_server, operator, "PACEMC", ["MC"], enrol=True, scopes=PQD_SCOPES)
    lnsp = await new_participant(paced_server, operator, "PACEL", ["LNSP"], scopes=PQD_SCOPES)
    statuses: Counter[int] = Counter()
    accepted: list[str] = []
    lags: list[float] = []
    ends = time.monotonic() + BURST_SECONDS

    async def sender(number: int) -> None:
        seed = number * 100_000
        while time.monotonic() < ends:
            seed += 1
            body = sample_body(mc.participant_id, [lnsp.participant_id], seed=seed)
            context_id = new_context_id("pqd", "bpqd", "Medium", mc.participant_id)
            response = await mc.submit(body, context_id=context_id)
            statuses[response.status_code] += 1
            if response.status_code != 200:
                raise AssertionError(f"{response.status_code}: {response.text}")
            accepted.append(context_id)

    async def watch_the_lag() -> None:
        async with httpx.AsyncClient(base_url=paced_server.base_url, timeout=30.0) as anonymous:
            while time.monotonic() < ends:
                health = (await anonymous.get("/healthz")).json()
                lags.append(health["deliveryLagSeconds"])
                await asyncio.sleep(0.1)

    try:
        await asyncio.gather(*(sender(n) for n in range(CONCURRENCY)), watch_the_lag())

        assert accepted, statuses
        assert await lag_waits(paced_server.base_url) > 0, "no submission waited: the burst never reached the bound"
        assert lags and max(lags) < LAG_CEILING, f"the delivery lag reached {max(lags)} s: {lags}"
        queued = await wait_for_queue(lnsp, len(accepted), within=120)
        assert sorted(queued) == sorted(accepted), statuses
    finally:
        for client in (operator, mc, lnsp):
            with contextlib.suppress(Exception):
                await client.close()


async def test_the_health_shows_the_delivery_lag_in_seconds(paced_server: ServerProcess) -> None:
    """/healthz carries the lag submissions are admitted on, a number of seconds."""
    async with httpx.AsyncClient(base_url=paced_server.base_url, timeout=30.0) as anonymous:
        health = (await anonymous.get("/healthz")).json()

    assert health["status"] == "ok"
    assert isinstance(health["deliveryLagSeconds"], float | int) and health["deliveryLagSeconds"] >= 0
