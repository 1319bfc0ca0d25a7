"""Fixtures that run the exchange as a subprocess and give participants that speak HTTP to it."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import pytest

from simulators.client import ParticipantClient, operator_client, register
from tests.e2e.read_side import Cast, People, logged_in
from tests.harness import ServerProcess, running_server

PQD_SCOPES = ["PQD_BPQD", "TLS_CERTIFICATE_MANAGEMENT"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One exchange per test module, with the test clock enabled."""
    with running_server(tmp_path_factory.mktemp("exchange") / "data", "--test-clock", "--rate-limit", "0") as running:
        yield running


@pytest.fixture
async def operator(server: ServerProcess) -> AsyncIterator[ParticipantClient]:
    client = await operator_client(server.base_url, server.operator_secret)
    yield client
    await client.close()


@pytest.fixture
async def people(flow: Cast) -> AsyncIterator[People]:
    """The clients of the module's read-side flow (its `flow` fixture), logged in for one test."""
    async with logged_in(flow) as people:
        yield people


class Participants:
    """Makes enrolled participants with fresh ids, so tests sharing a server never see each other's queues."""

    def __init__(self, server: ServerProcess, operator: ParticipantClient) -> None:
        self._server = server
        self._operator = operator
        self._clients: list[ParticipantClient] = []

    async def new(self, prefix: str, roles: list[str], *, enrol: bool = True) -> ParticipantClient:
        participant_id = f"{prefix}{secrets.token_hex(3).upper()}"[:10]
        credentials = await register(self._operator, participant_id, roles, PQD_SCOPES)
        client = ParticipantClient(self._server.base_url, credentials)
        self._clients.append(client)
        await client.login()
        if enrol:
            await client.enrol()
        return client

    async def close(self) -> None:
        for client in self._clients:
            await client.close()


@pytest.fixture
async def participants(server: ServerProcess, operator: ParticipantClient) -> AsyncIterator[Participants]:
    made = Participants(server, operator)
    yield made
    await made.close()
