"""Projections that can be trusted: `idx rebuild` reproduces the live read models exactly, and `kill -9` in the
middle of projecting loses and duplicates nothing."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import websockets

from exchange.functions.bpqd.sample import sample_body, sample_envelope
from simulators.client import ParticipantClient
from tests.e2e import read_side
from tests.e2e.queue_helpers import signed_messages, wait_for_queue
from tests.e2e.read_side import small_market
from tests.harness import ServerProcess
from tests.problems import assert_problem

TRANSLOG = "/idx/v1/translog"
ARCHIVE = "/idx/v1/archive"
# Each view table with its primary key, so that two dumps compare row by row.
TABLES = {
    "translog_rows": "transaction_id",
    "translog_history": "position, transaction_id",
    "archive_items": "delivery_id",
    "queue_items": "recipient, message_context_id",
    "log_leaves": "leaf_index",
    "log_nodes": "level, block",
}
MESSAGES = 100
T = TypeVar("T")


async def eventually(check: Callable[[], Awaitable[T]], within: float = 10.0) -> T:
    return await read_side.eventually(check, within, every=0.2)


async def all_of(client: ParticipantClient, path: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every item of a paged list and its totalRecords, following the cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "itemCount": 500, **({"cursor": cursor} if cursor else {})}
        response = await client.http.get(path, params=query, headers=client.headers())
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["data"]
        cursor = page["meta"]["nextCursor"]
        if cursor is None:
            return items, page["meta"]["totalRecords"]


def dump(data_dir: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the read models' tables, in primary-key order."""
    connection = sqlite3.connect(data_dir / "views.sqlite")
    try:
        return {
            table: connection.execute(f"SELECT * FROM {table} ORDER BY {key}").fetchall()
            for table, key in TABLES.items()
        }
    finally:
        connection.close()


def idx_rebuild(view: str, data_dir: Path) -> None:
    idx = Path(sys.executable).parent / "idx"
    done = subprocess.run(
        [str(idx), "rebuild", view, "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{view} rebuilt up to position" in done.stdout


async def test_a_rebuild_gives_the_same_rows_as_the_live_projections(
    crash_server: ServerProcess, made: list[ParticipantClient]
) -> None:
    """After accepted, rejected, retrieved and deleted messages, `idx rebuild` of each view leaves it identical."""
    server = crash_server
    operator, mc, (a, b) = await small_market(server, made, "RB", "AB")

    sent = {}
    for seed, (name, recipients) in enumerate([("both", [a, b]), ("only_b", [b]), ("only_a", [a])]):
        body = sample_body(mc.participant_id, [r.participant_id for r in recipients], seed=seed)
        response = await mc.submit(body)
        assert response.status_code == 200, response.text
        sent[name] = response.json()["data"]["messageContextId"]
    envelope: Any = sample_envelope(mc.participant_id, [a.participant_id], seed=10)
    envelope["data"]["transactions"][0]["nmiDetails"][0]["intervalLength"] = 7
    assert_problem(await mc.submit(json.dumps(envelope).encode()), 422)
    forged = sample_body(mc.participant_id, [b.participant_id], seed=11)
    assert_problem(await mc.submit(forged, signature=mc.sign(b"other bytes")), 403, kind="signature")
    assert_problem(await mc.submit(forged, context_id=sent["only_b"]), 409)
    assert set(await wait_for_queue(a, 2)) == {sent["both"], sent["only_a"]}
    assert (await a.fetch(sent["both"])).status_code == 200
    assert (await a.delete(sent["both"])).status_code == 204

    async def settled() -> list[dict[str, Any]]:
        rows, _ = await all_of(operator, TRANSLOG, initiatingParticipantId=mc.participant_id)
        assert sorted(r["status"] for r in rows) == [
            "completed", "completed", "completed", "message_rejected", "message_rejected", "removed",
        ]  # fmt: skip
        a_items, _ = await all_of(a, ARCHIVE)
        b_items, _ = await all_of(b, ARCHIVE)
        assert {i["messageContextId"] for i in a_items} == {sent["both"], sent["only_a"]}
        assert {i["messageContextId"] for i in b_items} == {sent["both"], sent["only_b"]}
        return rows

    live_rows = await eventually(settled)

    async def signed_related() -> dict[str, Any]:
        # Once a signed tree head covers the message, its leafIndex is part of what the rebuild must give again.
        answer = (await operator.http.get(f"{TRANSLOG}/{sent['both']}", headers=operator.headers())).json()
        assert answer["data"]["leafIndex"] is not None
        return dict(answer)

    related = await eventually(signed_related)
    server.stop()

    live = dump(server.data_dir)
    assert len(live["translog_rows"]) == 6
    assert len(live["translog_history"]) == 2 + 4 + 2 + 2 + 1 + 1
    assert len(live["archive_items"]) == 4
    for view in ("translog", "archive", "queue", "log"):
        idx_rebuild(view, server.data_dir)
    rebuilt = dump(server.data_dir)
    for table in TABLES:
        assert rebuilt[table] == live[table], f"{table} differs after the rebuild"

    # The exchange started on the rebuilt views answers as before.
    server.start()
    await operator.login()
    rows, _ = await all_of(operator, TRANSLOG, initiatingParticipantId=mc.participant_id)
    assert rows == live_rows
    assert (await operator.http.get(f"{TRANSLOG}/{sent['both']}", headers=operator.headers())).json() == related


async def test_kill_9_mid_projection_loses_and_duplicates_nothing(
    crash_server: ServerProcess, made: list[ParticipantClient]
) -> None:
    """100 concurrent messages to two LNSPs, kill -9 after the last 200, restart: 200 completed rows, once each."""
    server = crash_server
    operator, mc, lnsps = await small_market(server, made, "KL", "AB")
    recipients = [lnsp.participant_id for lnsp in lnsps]
    prepared = signed_messages(mc, recipients, range(MESSAGES))

    async def submit(context_id: str, body: bytes, signature: str) -> int:
        response = await mc.submit(body, context_id=context_id, signature=signature)
        return response.status_code

    statuses = await asyncio.gather(*(submit(*p) for p in prepared))
    server.kill9()
    assert statuses == [200] * MESSAGES
    accepted = {context_id for context_id, _, _ in prepared}

    server.start()
    for client in (operator, mc, *lnsps):
        await client.login()

    async def settled() -> list[dict[str, Any]]:
        rows, total = await all_of(operator, TRANSLOG, initiatingParticipantId=mc.participant_id)
        assert total == len(rows) == 2 * MESSAGES
        assert Counter(r["status"] for r in rows) == {"completed": 2 * MESSAGES}
        return rows

    rows = await eventually(settled, within=60.0)
    per_delivery = Counter((r["messageContextId"], r["receivingParticipantId"]) for r in rows)
    assert [key for key, count in per_delivery.items() if count != 1] == []
    assert set(per_delivery) == {(c, r) for c in accepted for r in recipients}
    assert len({r["transactionId"] for r in rows}) == 2 * MESSAGES

    async def history_of(context_id: str) -> list[tuple[str, str]]:
        response = await operator.http.get(f"{TRANSLOG}/{context_id}", headers=operator.headers())
        assert response.status_code == 200, response.text
        return sorted((h["receivingParticipantId"], h["status"]) for h in response.json()["data"]["history"])

    ordered = sorted(accepted)
    histories = []
    for start in range(0, len(ordered), 20):
        histories += await asyncio.gather(*(history_of(c) for c in ordered[start : start + 20]))
    wanted = sorted((r, s) for r in recipients for s in ("completed", "delivery_pending"))
    wrong = {c: h for c, h in zip(ordered, histories, strict=True) if h != wanted}
    assert wrong == {}, f"{len(wrong)} messages with a history other than pending + completed per receiver"

    for lnsp in lnsps:
        items, total = await all_of(lnsp, ARCHIVE)
        assert total == len(items) == MESSAGES
        assert {i["messageContextId"] for i in items} == accepted


async def test_notification_sequences_survive_kill_9_without_gaps_or_repeats(
    crash_server: ServerProcess, made: list[ParticipantClient]
) -> None:
    """50 concurrent messages, kill -9 right after the last 200, restart: `since=0` replays 1..50, each message once."""
    server = crash_server
    _, mc, (lnsp,) = await small_market(server, made, "KN", "L")
    count = MESSAGES // 2
    bodies = [sample_body(mc.participant_id, [lnsp.participant_id], seed=seed) for seed in range(count)]
    responses = await asyncio.gather(*(mc.submit(body) for body in bodies))
    server.kill9()
    assert [r.status_code for r in responses] == [200] * count
    accepted = {r.json()["data"]["messageContextId"] for r in responses}

    server.start()
    await lnsp.login()
    await wait_for_queue(lnsp, count, within=60)
    url = server.base_url.replace("http://", "ws://") + "/idx/v1/events?since=0"

    async def replayed() -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        async with websockets.connect(url, additional_headers=lnsp.headers()) as socket:
            try:
                while True:
                    got.append(json.loads(await asyncio.wait_for(socket.recv(), 1.0)))
            except TimeoutError:
                pass
        assert len(got) >= count
        return got

    frames = await eventually(replayed, within=30.0)
    assert [f["sequence"] for f in frames] == list(range(1, count + 1))
    assert Counter(f["messageContextId"] for f in frames) == dict.fromkeys(accepted, 1)
