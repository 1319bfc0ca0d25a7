"""Rate limits and daily quotas from outside: 429 with `Retry-After`, counted per participant and route template
(the operator exempt), quotas per sender and priority that only accepted messages consume, that a new market day
restores and that a restart does not forget."""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta

import httpx
import pytest

from exchange.domain.markettime import MARKET_TIME
from exchange.functions.bpqd.sample import sample_body
from simulators.client import ParticipantClient, operator_client
from tests.e2e.read_side import new_participant
from tests.harness import ServerProcess, running_server
from tests.problems import assert_problem

SCOPES = ["PQD_BPQD", "TLS_CERTIFICATE_MANAGEMENT"]
RATE = 5
_seeds = iter(range(1, 1_000_000))


def assert_too_many(response: httpx.Response, at_most: int) -> int:
    """A 429 problem whose `Retry-After` is a whole number of seconds in 1..at_most; that number."""
    assert_problem(response, 429)
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= at_most, retry_after
    return retry_after


async def new_client(
    server: ServerProcess, operator: ParticipantClient, prefix: str, roles: list[str], *, enrol: bool = False
) -> ParticipantClient:
    return await new_participant(server, operator, prefix, roles, enrol=enrol, scopes=SCOPES)


class Clients:
    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.made: list[ParticipantClient] = []
        self.operator: ParticipantClient | None = None

    async def admin(self) -> ParticipantClient:
        if self.operator is None:
            self.operator = await operator_client(self.server.base_url, self.server.operator_secret)
            self.made.append(self.operator)
        return self.operator

    async def new(self, prefix: str, roles: list[str], *, enrol: bool = False) -> ParticipantClient:
        client = await new_client(self.server, await self.admin(), prefix, roles, enrol=enrol)
        self.made.append(client)
        return client

    async def close(self) -> None:
        for client in self.made:
            await client.close()


# ------------------------------------------------------------------------------------------------ rate limits


@pytest.fixture(scope="module")
def rate_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("rate") / "data", "--rate-limit", str(RATE)) as running:
        yield running


@pytest.fixture
async def rated(rate_server: ServerProcess) -> AsyncIterator[Clients]:
    clients = Clients(rate_server)
    yield clients
    await clients.close()


async def fresh_window(need: float) -> None:
    """Wait, if needed, so that at least `need` seconds of the current fixed 60-second window remain."""
    left = 60 - time.time() % 60
    if left < need:
        await asyncio.sleep(left + 0.2)


async def test_hammering_one_endpoint_past_the_rate_gives_429_and_leaves_other_traffic_alone(
    rated: Clients,
) -> None:
    """The sixth list in a minute is 429 with Retry-After; other participants, endpoints and the operator pass."""
    hammer = await rated.new("RLA", ["LNSP"])
    other = await rated.new("RLB", ["LNSP"])
    operator = await rated.admin()
    await fresh_window(15)
    window_left = 60 - time.time() % 60

    for attempt in range(RATE):
        response = await hammer.list_queue()
        assert response.status_code == 200, (attempt, response.text)
    retry_after = assert_too_many(await hammer.list_queue(), 60)
    assert retry_after <= math.ceil(window_left) + 1, (retry_after, window_left)

    for _ in range(RATE):
        response = await other.list_queue()
        assert response.status_code == 200, "another participant's calls were limited"
    response = await hammer.http.get("/certs/v1/certificates", headers=hammer.headers())
    assert response.status_code == 200, "the same participant's calls to another endpoint were limited"
    for _ in range(2 * RATE):
        response = await operator.list_queue()
        assert response.status_code == 200, "the operator is exempt"
        response = await operator.http.get("/admin/v1/participants", headers=operator.headers())
        assert response.status_code == 200, "the operator is exempt"
    assert_too_many(await hammer.list_queue(), 60)


async def test_the_rate_counts_per_route_template_not_per_path(rated: Clients) -> None:
    """Fetching five different messageContextIds (404) and then a sixth is 429: one endpoint, one counter."""
    client = await rated.new("RLT", ["LNSP"])
    await fresh_window(15)
    for _ in range(RATE):
        response = await client.fetch(f"pqd~bpqd~m~RLX~{secrets.token_hex(8)}")
        assert_problem(response, 404)
    assert_too_many(await client.fetch(f"pqd~bpqd~m~RLX~{secrets.token_hex(8)}"), 60)
    response = await client.list_queue()
    assert response.status_code == 200, "the list is another route template"


async def test_the_rate_count_survives_a_restart_within_its_window(rate_server: ServerProcess, rated: Clients) -> None:
    """Five lists, a restart of the exchange, and the sixth in the same minute is still 429."""
    client = await rated.new("RLR", ["LNSP"])
    await fresh_window(40)
    for _ in range(RATE):
        assert (await client.list_queue()).status_code == 200
    rate_server.stop()
    rate_server.start()
    assert_too_many(await client.list_queue(), 60)


# ----------------------------------------------------------------------------------------------------- quotas


@pytest.fixture(scope="module")
def quota_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Quotas High 2, Medium 1, Low 1, its clock moved to 01:00 of the next market day (no midnight mid-test)."""
    data_dir = tmp_path_factory.mktemp("quota") / "data"
    with running_server(data_dir, "--daily-quota", "2,1,1", "--rate-limit", "0", "--test-clock") as running:
        now = server_now(running)
        local = now.astimezone(MARKET_TIME)
        next_midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), MARKET_TIME)
        advance_clock(running, (next_midnight - local).total_seconds() + 3600)
        yield running


def _operator_token(server: ServerProcess) -> str:
    response = httpx.post(
        f"{server.base_url}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "operator", "client_secret": server.operator_secret},
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def advance_clock(server: ServerProcess, seconds: float) -> datetime:
    response = httpx.post(
        f"{server.base_url}/admin/v1/clock",
        json={"advanceSeconds": seconds},
        headers={"Authorization": f"Bearer {_operator_token(server)}"},
    )
    assert response.status_code == 200, response.text
    return datetime.fromisoformat(response.json()["data"]["now"])


def server_now(server: ServerProcess) -> datetime:
    return advance_clock(server, 0)


def seconds_to_market_midnight(now: datetime) -> float:
    local = now.astimezone(MARKET_TIME)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), MARKET_TIME)
    return (midnight - local).total_seconds()


@pytest.fixture
async def quota(quota_server: ServerProcess) -> AsyncIterator[Clients]:
    clients = Clients(quota_server)
    yield clients
    await clients.close()


async def send(mc: ParticipantClient, lnsp: ParticipantClient, priority: str, **options: object) -> httpx.Response:
    body = sample_body(mc.participant_id, [lnsp.participant_id], priority=priority, seed=next(_seeds), **options)  # type: ignore[arg-type]
    return await mc.submit(body, priority=priority)


async def test_the_daily_quota_is_per_priority_and_answers_429_until_the_next_market_midnight(
    quota_server: ServerProcess, quota: Clients
) -> None:
    """Two High pass, the third is 429 with Retry-After to market midnight; Medium has its own quota of one."""
    mc = await quota.new("QMC", ["MC"], enrol=True)
    lnsp = await quota.new("QL", ["LNSP"])
    first = await send(mc, lnsp, "High")
    assert first.status_code == 200, first.text
    assert (await send(mc, lnsp, "High")).status_code == 200
    refused = await send(mc, lnsp, "High")
    expected = seconds_to_market_midnight(server_now(quota_server))
    retry_after = assert_too_many(refused, 86_400)
    assert abs(retry_after - expected) <= 5, (retry_after, expected)

    assert (await send(mc, lnsp, "Medium")).status_code == 200, "Medium has its own quota"
    assert_too_many(await send(mc, lnsp, "Medium"), 86_400)
    assert (await send(mc, lnsp, "Low")).status_code == 200, "Low has its own quota"
    assert_too_many(await send(mc, lnsp, "Low"), 86_400)

    other = await quota.new("QMO", ["MC"], enrol=True)
    assert (await send(other, lnsp, "High")).status_code == 200, "another sender has its own quota"


async def test_the_quota_state_survives_a_restart(quota_server: ServerProcess, quota: Clients) -> None:
    """Two High, a restart of the exchange, and the third High of the same market day is still 429."""
    mc = await quota.new("QPMC", ["MC"], enrol=True)
    lnsp = await quota.new("QPL", ["LNSP"])
    for _ in range(2):
        response = await send(mc, lnsp, "High")
        assert response.status_code == 200, response.text
    quota_server.stop()
    quota_server.start()
    await mc.login()
    assert_too_many(await send(mc, lnsp, "High"), 86_400)


async def test_a_new_market_day_on_the_test_clock_restores_the_quota(
    quota_server: ServerProcess, quota: Clients
) -> None:
    """Spent High quota; the clock moves a day on; after a new login two High pass again and the third is 429."""
    mc = await quota.new("QDMC", ["MC"], enrol=True)
    lnsp = await quota.new("QDL", ["LNSP"])
    for _ in range(2):
        assert (await send(mc, lnsp, "High")).status_code == 200
    assert_too_many(await send(mc, lnsp, "High"), 86_400)

    advance_clock(quota_server, 86_400)
    stale = await send(mc, lnsp, "High")
    assert_problem(stale, 401)  # tokens follow the test clock
    await mc.login()
    for _ in range(2):
        response = await send(mc, lnsp, "High")
        assert response.status_code == 200, response.text
    assert_too_many(await send(mc, lnsp, "High"), 86_400)
