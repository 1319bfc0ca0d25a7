"""A business function defined only in the test suite registers, gets its entity and exchanges messages.

`idx serve --plugin tests.e2e.plugins.notes:plugin` loads it besides the installed ones; no core file knows it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulators.client import ParticipantClient, register
from tests.harness import ServerProcess, running_server
from tests.problems import assert_problem

PLUGIN = "tests.e2e.plugins.notes:plugin"
BF, RESOURCE, ENTITY = "note", "memo", "NOTE_MEMO"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory made by an exchange that did not have the plugin yet."""
    made = tmp_path_factory.mktemp("plugin") / "data"
    with running_server(made):
        pass
    return made


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[ServerProcess]:
    with running_server(data_dir, "--plugin", PLUGIN, "--rate-limit", "0") as running:
        yield running


async def participant(server: ServerProcess, operator: ParticipantClient, pid: str, role: str) -> ParticipantClient:
    credentials = await register(operator, pid, [role], [ENTITY, "TLS_CERTIFICATE_MANAGEMENT"])
    client = ParticipantClient(server.base_url, credentials)
    await client.login()
    return client


async def queued(reader: ParticipantClient, expected: int, within: float = 20.0) -> list[str]:
    """The ids in the reader's note queue once it holds `expected` of them (or when the time is up)."""
    deadline = time.monotonic() + within
    while True:
        response = await reader.list_queue(bf=BF, resource=RESOURCE)
        assert response.status_code == 200, response.text
        ids = [item["messageContextId"] for item in response.json()["data"]]
        if len(ids) == expected or time.monotonic() > deadline:
            return ids
        await asyncio.sleep(0.1)


def sample(sender: str, recipient: str, text: str) -> bytes:
    """The note `idx sample note memo` prints, with the plugin named in IDX_PLUGINS."""
    idx = Path(sys.executable).parent / "idx"
    args = [str(idx), "sample", BF, RESOURCE, "--sender", sender, "--recipient", recipient, "--text", text]
    done = subprocess.run(args, env={**os.environ, "IDX_PLUGINS": PLUGIN}, capture_output=True, check=True)
    return done.stdout


async def test_the_operator_gains_the_entity_of_a_plugin_added_to_an_existing_data_dir(
    operator: ParticipantClient,
) -> None:
    """The operator's client was made without `NOTE_MEMO`; the start with the plugin granted it."""
    secret = operator.credentials.client_secret
    form = {"grant_type": "client_credentials", "client_id": "operator", "client_secret": secret}
    token = await operator.http.post("/oauth/token", data=form)
    assert token.status_code == 200, token.text
    assert ENTITY in token.json()["scope"].split()
    catalogue = await operator.http.get("/idx/v1/businessFunctions", headers=operator.headers())
    [entry] = [e for e in catalogue.json()["data"] if e["businessFunctionId"] == BF]
    assert entry["resources"][0]["senderRoles"] == ["AUTHOR"]
    assert entry["resources"][0]["receiverRoles"] == ["READER"]


async def test_the_plugins_roles_and_entity_are_accepted_and_its_messages_travel(
    server: ServerProcess, operator: ParticipantClient
) -> None:
    """An author and a reader of the plugin's roles: a signed note is queued, listed, fetched and deleted."""
    author = await participant(server, operator, "AUTHOR1", "AUTHOR")
    reader = await participant(server, operator, "READER1", "READER")
    try:
        await author.enrol()
        body = sample(author.participant_id, reader.participant_id, "The plugin works")
        submitted = await author.submit(body, bf=BF, resource=RESOURCE)
        assert submitted.status_code == 200, submitted.text
        context_id = submitted.json()["data"]["messageContextId"]

        assert await queued(reader, 1) == [context_id]
        fetched = await reader.fetch(context_id, bf=BF, resource=RESOURCE)
        assert fetched.status_code == 200, fetched.text
        assert fetched.content == body
        deleted = await reader.delete(context_id, bf=BF, resource=RESOURCE)
        assert deleted.status_code in (200, 204), deleted.text
        assert await queued(reader, 0) == []

        blank = sample(author.participant_id, reader.participant_id, " ")
        refused = await author.submit(blank, bf=BF, resource=RESOURCE)
        assert_problem(refused, 422, ["data.transactions[0].text"])
    finally:
        await author.close()
        await reader.close()


async def test_a_role_no_registered_plugin_uses_is_refused(operator: ParticipantClient) -> None:
    """A role no plugin declares is a 422 on `roles[0]` whose message lists the roles the plugins do declare."""
    response = await operator.http.post(
        "/admin/v1/participants",
        json={"participantId": "NOBODY1", "name": "Nobody", "roles": ["ASTRONAUT"]},
        headers=operator.headers(),
    )
    problem = assert_problem(response, 422, ["roles[0]"])
    [error] = problem["errors"]
    assert "AUTHOR" in error["message"] and "READER" in error["message"], error
