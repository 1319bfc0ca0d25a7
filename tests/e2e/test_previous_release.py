"""Data written by the previous release (before the layered layout) still opens and answers as it did."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from simulators.client import Credentials, ParticipantClient, operator_client
from tests.e2e.read_side import eventually, read_all
from tests.fixtures.previous_release import EXPECTED, unpack
from tests.harness import ServerProcess, running_server

# (owner, business function, resource): every queue the fixture has messages in.
QUEUES = [
    ("LNSP1", "pqd", "bpqd"),
    ("LNSP2", "pqd", "bpqd"),
    ("OPERATOR", "gr", "recall"),
    ("OPERATOR", "bid", "energy"),
]
FLOW = "/idx/v1/flowcontrol/businessFunctions/pqd"


async def all_pages(client: ParticipantClient, path: str) -> list[dict[str, Any]]:
    return await read_all(client, path)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    with running_server(unpack(tmp_path), "--rate-limit", "0", "--test-clock") as running:
        yield running


@pytest.fixture
async def clients(server: ServerProcess) -> AsyncIterator[dict[str, ParticipantClient]]:
    """The operator and the demo participants, with the credentials kept in the fixture."""
    made = {"OPERATOR": await operator_client(server.base_url, server.operator_secret)}
    for entry in json.loads((server.data_dir / "demo-clients.json").read_text()):
        pid = entry["participantId"]
        made[pid] = ParticipantClient(server.base_url, Credentials(pid, entry["clientId"], entry["clientSecret"]))
        await made[pid].login()
    yield made
    for client in made.values():
        await client.close()


# Business functions that came after the release that wrote the fixture.
NEW_FUNCTIONS = {"ssm", "prud"}


@pytest.mark.e2e
async def test_the_previous_releases_data_answers_as_it_did(clients: dict[str, ParticipantClient]) -> None:
    """Queues, payloads, the operator's transaction log, participant status and flow control, exactly as recorded."""
    operator = clients["OPERATOR"]
    # The read-only answers first: a fetch records a `retrieved` step (translog history, not the rows).
    translog = await operator.http.get("/idx/v1/translog", params={"itemCount": 500}, headers=operator.headers())
    assert translog.status_code == 200, translog.text
    assert translog.json() == EXPECTED["translog"]  # every row, every field, and meta; in the same order
    for key, path in [
        ("participantStatus", "/idx/v1/participantStatus"),
        ("participantStatusHistory", "/idx/v1/participantStatus/history"),
    ]:
        response = await operator.http.get(path, headers=operator.headers())
        assert response.status_code == 200, response.text
        answered = response.json()
        if key == "participantStatus":
            # Suspension came later: every row of the old data is Active, and the rest is as the old release said.
            assert {row.pop("participantStatus") for row in answered["data"]} == {"Active"}
            # Business functions added since (plugins the old release did not have) add their own rows, and
            # nothing else changes.
            known = {row["businessFunctionId"] for row in EXPECTED[key]["data"]}
            added = [row for row in answered["data"] if row["businessFunctionId"] not in known]
            assert {row["businessFunctionId"] for row in added} <= NEW_FUNCTIONS, added
            answered["data"] = [row for row in answered["data"] if row["businessFunctionId"] in known]
        assert answered == EXPECTED[key], key
    for pid in ("LNSP1", "LNSP2"):
        response = await clients[pid].http.get(FLOW, headers=clients[pid].headers())
        assert response.status_code == 200, response.text
        assert response.json()["data"] == EXPECTED["flowControl"][pid], pid

    listings = {}
    for owner, bf, resource in QUEUES:
        listings[owner, bf] = await all_pages(clients[owner], f"/{bf}/v1/{resource}")
        assert listings[owner, bf] == EXPECTED["queues"][owner][f"{bf}/{resource}"]["items"], (owner, bf)
    for owner, bf, resource in QUEUES:
        hashes = {}
        for item in listings[owner, bf]:
            fetched = await clients[owner].fetch(item["messageContextId"], bf=bf, resource=resource, gzip_ok=False)
            assert fetched.status_code == 200, fetched.text
            hashes[item["messageContextId"]] = hashlib.sha256(fetched.content).hexdigest()
        assert hashes == EXPECTED["queues"][owner][f"{bf}/{resource}"]["payloadSha256"], (owner, bf)


@pytest.mark.e2e
async def test_the_previous_releases_data_keeps_working(clients: dict[str, ParticipantClient]) -> None:
    """Beyond reading: aggregates of the old events still change. LNSP2 empties its queue below Low and the two
    messages held for it since the old release enter, High before Medium; LNSP1 deletes one of its own."""
    lnsp1, lnsp2, operator = clients["LNSP1"], clients["LNSP2"], clients["OPERATOR"]
    messages = EXPECTED["messages"]
    old_lnsp2 = [i["messageContextId"] for i in EXPECTED["queues"]["LNSP2"]["pqd/bpqd"]["items"]]
    for context_id in old_lnsp2:
        deleted = await lnsp2.delete(context_id)
        assert deleted.status_code == 204, deleted.text

    async def held_messages_entered() -> None:
        now_queued = [i["messageContextId"] for i in await all_pages(lnsp2, "/pqd/v1/bpqd")]
        assert now_queued == [messages["m5"], messages["m7"]]  # held since ab1e414: High, then Medium

    await eventually(held_messages_entered, within=20)
    assert (await lnsp1.delete(messages["m6"])).status_code == 204
    # The transaction log follows the event store on its own: wait (bounded) for the removals to show.
    wanted = {(messages["m6"], "LNSP1"): "removed"} | {(c, "LNSP2"): "removed" for c in old_lnsp2}
    wanted |= {(messages["m5"], "LNSP2"): "completed", (messages["m7"], "LNSP2"): "completed"}

    async def removals_logged() -> None:
        rows = await all_pages(operator, "/idx/v1/translog")
        status = {(r["messageContextId"], r["receivingParticipantId"]): r["status"] for r in rows}
        assert {key: status.get(key) for key in wanted} == wanted

    await eventually(removals_logged, within=20)
