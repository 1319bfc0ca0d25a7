"""Fixtures that run the exchange as a subprocess and give participants that speak HTTP to it."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Self

import pytest
from playwright.async_api import Browser

from simulators.client import ParticipantClient, operator_client, register
from tests.conformance.market import Market
from tests.e2e import browser as web
from tests.e2e.queue_helpers import PQD_SCOPES
from tests.e2e.read_side import Cast, Join, People, close_all, logged_in, new_participant
from tests.harness import ServerProcess, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One exchange per test module, with the test clock enabled."""
    with running_server(tmp_path_factory.mktemp("exchange") / "data", "--test-clock", "--rate-limit", "0") as running:
        yield running


@pytest.fixture
def crash_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """An exchange of one test's own, which the test may stop, kill (-9) and start again."""
    server = ServerProcess(tmp_path / "data", extra_args=("--rate-limit", "0"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def made() -> AsyncIterator[list[ParticipantClient]]:
    """The clients a test opens, closed after it (modules with participants of their own shape override it)."""
    clients: list[ParticipantClient] = []
    yield clients
    await close_all(*clients)


@asynccontextmanager
async def operator_of(server: ServerProcess) -> AsyncIterator[ParticipantClient]:
    """The operator's client on `server`, logged in, closed at the end."""
    client = await operator_client(server.base_url, server.operator_secret)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def operator(server: ServerProcess) -> AsyncIterator[ParticipantClient]:
    async with operator_of(server) as client:
        yield client


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A headless Chromium of one test's own, so that no test sees another's sign-in."""
    async with web.launched() as running:
        yield running


@pytest.fixture
async def cast(server: ServerProcess, operator: ParticipantClient) -> AsyncIterator[web.Cast]:
    """The web app's MC and LNSPs on the module's server, logged out at the end."""
    made = web.Cast(server, operator)
    yield made
    await close_all(*made.clients)


@pytest.fixture
async def join(server: ServerProcess, operator: ParticipantClient) -> AsyncIterator[Join]:
    """Makes fresh participants holding the read-side entities, and logs them out at the end."""
    made: list[ParticipantClient] = []

    async def new(prefix: str, roles: list[str], *, enrol: bool = True) -> ParticipantClient:
        made.append(await new_participant(server, operator, prefix, roles, enrol=enrol))
        return made[-1]

    yield new
    await close_all(*made)


@pytest.fixture
async def people(flow: Cast) -> AsyncIterator[People]:
    """The clients of the module's read-side flow (its `flow` fixture), logged in for one test."""
    async with logged_in(flow) as people:
        yield people


@pytest.fixture
async def market(server: ServerProcess, operator: ParticipantClient) -> AsyncIterator[Market]:
    """Generators, DUIDs and the operator's queue on the module's server, for the plugins' journeys."""
    made = Market(server, operator)
    yield made
    await made.close()


class Participants:
    """Makes participants with fresh ids, so tests sharing a server never see each other's queues.

    Each holds `scopes` and is enrolled when `enrol`, unless `new` is told otherwise; all are closed at the end.
    """

    def __init__(
        self, server: ServerProcess, operator: ParticipantClient, scopes: list[str] = PQD_SCOPES, *, enrol: bool = True
    ) -> None:
        self.server = server
        self.operator = operator
        self.clients: list[ParticipantClient] = []
        self._scopes = scopes
        self._enrol = enrol

    async def new(
        self,
        prefix: str,
        roles: list[str],
        scopes: list[str] | None = None,
        *,
        enrol: bool | None = None,
        login_scope: str | None = None,
    ) -> ParticipantClient:
        participant_id = f"{prefix}{secrets.token_hex(3).upper()}"[:10]
        credentials = await register(self.operator, participant_id, roles, scopes or self._scopes)
        client = ParticipantClient(self.server.base_url, credentials)
        self.clients.append(client)
        await client.login(login_scope)
        if self._enrol if enrol is None else enrol:
            await client.enrol()
        return client

    async def mc_and_lnsp(self, *, enrol_lnsp: bool = False) -> tuple[ParticipantClient, ParticipantClient]:
        """An MC that sends and an LNSP that receives; the LNSP is enrolled only when it must sign too."""
        return await self.new("MC", ["MC"]), await self.new("LN", ["LNSP"], enrol=enrol_lnsp)

    async def close(self) -> None:
        await close_all(*self.clients)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


@pytest.fixture
async def participants(server: ServerProcess, operator: ParticipantClient) -> AsyncIterator[Participants]:
    async with Participants(server, operator) as made:
        yield made
