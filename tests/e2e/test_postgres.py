"""`idx serve --database-url`: the event store, the read models and the keys in PostgreSQL (a throw-away cluster
of the session)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import psycopg

from exchange.functions.bpqd.sample import sample_body
from simulators.client import ParticipantClient, operator_client, register
from tests.e2e import read_side
from tests.e2e.queue_helpers import PQD_SCOPES, accepted_id, queued_ids, wait_for_queue
from tests.harness import ServerProcess
from tests.problems import assert_problem

PASSPHRASE = "correct horse battery staple"
SCOPES = [*PQD_SCOPES, "TRANSLOG_TRANSLOG", "ARCH_RETRIEVE"]


def _server(data_dir: Path, database_url: str, passphrase: str = PASSPHRASE) -> ServerProcess:
    return ServerProcess(
        data_dir,
        extra_args=("--database-url", database_url, "--rate-limit", "0"),
        env={"IDX_KEY_PASSPHRASE": passphrase},
    )


def _hub(server: ServerProcess) -> dict[str, str]:
    data: dict[str, str] = httpx.get(f"{server.base_url}/certs/v1/hub", timeout=10).json()["data"]
    return data


async def _translog(sender: ParticipantClient, expected: dict[str, str]) -> dict[str, str]:
    """The status of each of the sender's messages in its transaction log, once it shows `expected`."""
    response = await sender.http.get("/idx/v1/translog", headers=sender.headers())
    assert response.status_code == 200, response.text
    statuses = {row["messageContextId"]: row["status"] for row in response.json()["data"]}
    assert statuses == expected
    return statuses


async def _archive(recipient: ParticipantClient, count: int) -> list[str]:
    """The messageContextIds in the recipient's archive, once it holds `count` of them."""
    response = await recipient.http.get("/idx/v1/archive", headers=recipient.headers())
    assert response.status_code == 200, response.text
    found = sorted(item["messageContextId"] for item in response.json()["data"])
    assert len(found) == count
    return found


def _query(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    """The rows `sql` gives, read straight from PostgreSQL: what the exchange keeps there, not what it answers."""
    with psycopg.connect(database_url) as connection:
        return connection.execute(sql).fetchall()


def _rows(database_url: str, table: str) -> list[tuple[object, ...]]:
    return _query(database_url, f"SELECT * FROM {table} ORDER BY 1")


def _idx(*args: str) -> None:
    idx = Path(sys.executable).parent / "idx"
    environment = os.environ | {"IDX_KEY_PASSPHRASE": PASSPHRASE}
    done = subprocess.run([str(idx), *args], capture_output=True, text=True, timeout=120, env=environment)
    assert done.returncode == 0, done.stdout + done.stderr


async def test_a_message_travels_through_postgres_and_its_keys_and_events_outlive_the_data_dir(
    postgres_url: str, tmp_path: Path
) -> None:
    """Submit, list, fetch and delete on PostgreSQL; a start on a fresh data dir has the same keys, events, read models
    and quota."""
    first = _server(tmp_path / "first", postgres_url)
    first.start(timeout=120)
    try:
        keys = _hub(first)
        operator = await operator_client(first.base_url, first.operator_secret)
        mc = ParticipantClient(first.base_url, await register(operator, "PGMC", ["MC"], SCOPES))
        lnsp = ParticipantClient(first.base_url, await register(operator, "PGLNSP", ["LNSP"], SCOPES))
        await operator.close()
        await mc.login()
        await mc.enrol()
        await lnsp.login()
        kept = sample_body(mc.participant_id, [lnsp.participant_id], seed=1)
        gone = sample_body(mc.participant_id, [lnsp.participant_id], seed=2)
        kept_id = await accepted_id(mc, kept)
        gone_id = await accepted_id(mc, gone)

        assert sorted(await wait_for_queue(lnsp, 2, within=60)) == sorted([kept_id, gone_id])
        fetched = await lnsp.fetch(gone_id)
        assert fetched.status_code == 200
        assert fetched.content == gone
        assert (await lnsp.delete(gone_id)).status_code == 204
        assert await queued_ids(lnsp) == [kept_id]
        statuses = {kept_id: "completed", gone_id: "removed"}
        assert await read_side.eventually(lambda: _translog(mc, statuses), within=30) == statuses
        assert await read_side.eventually(lambda: _archive(lnsp, 2), within=30) == sorted([kept_id, gone_id])
        for client in (mc, lnsp):
            await client.close()
    finally:
        first.stop()

    # Every read model is in the database: the data directory has no views file, and the tracked positions of the
    # followers are in PostgreSQL.
    assert not (tmp_path / "first" / "views.sqlite").exists()
    tracked = dict(_query(postgres_url, "SELECT name, position FROM tracking"))
    assert {"queue", "translog", "archive", "log", "notifications"} <= tracked.keys()
    assert min(tracked[name] for name in ("queue", "translog", "archive")) > 0
    # `idx rebuild` works on the database too, and gives the transaction log the same rows again.
    before = _rows(postgres_url, "translog_rows")
    _idx("rebuild", "translog", "--data-dir", str(tmp_path / "first"), "--database-url", postgres_url)
    assert _rows(postgres_url, "translog_rows") == before

    # The data directory holds nothing the exchange needs: a start on a new one against the same database has the
    # same CA and hub, the same operator, and the same read models.
    second = _server(tmp_path / "second", postgres_url)
    second.start(timeout=120)
    try:
        assert _hub(second) == keys
        assert second.operator_secret == first.operator_secret
        lnsp = ParticipantClient(second.base_url, lnsp.credentials)
        mc = ParticipantClient(second.base_url, mc.credentials)
        await lnsp.login()
        await mc.login()
        assert await wait_for_queue(lnsp, 1, within=60) == [kept_id]
        assert await _translog(mc, statuses) == statuses
        assert await _archive(lnsp, 2) == sorted([kept_id, gone_id])
        fetched = await lnsp.fetch(kept_id)
        assert fetched.content == kept
        assert_problem(await lnsp.fetch(gone_id), 404)
        for client in (mc, lnsp):
            await client.close()
    finally:
        second.stop()
    assert not (tmp_path / "second" / "views.sqlite").exists()

    stored = "".join(str(row[0]) for row in _query(postgres_url, "SELECT value FROM idx_shared_keys"))
    assert "ENCRYPTED PRIVATE KEY" in stored
    assert "BEGIN PRIVATE KEY" not in stored, "a private key is stored in the clear"
    assert first.operator_secret not in stored, "the operator secret is stored in the clear"
    quota = _query(postgres_url, "SELECT sum(count) FROM flowcontrol_quota WHERE sender = 'PGMC'")
    assert quota == [(2,)], "the sender's daily quota is not counted in the database"


def _serve_and_fail(data_dir: Path, database_url: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    idx = Path(sys.executable).parent / "idx"
    environment = {k: v for k, v in os.environ.items() if k != "IDX_KEY_PASSPHRASE"} | env
    return subprocess.run(
        [str(idx), "serve", "--data-dir", str(data_dir), "--port", "0", "--database-url", database_url],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )


def test_a_database_url_without_a_passphrase_is_refused_at_start(postgres_url: str, tmp_path: Path) -> None:
    """Without IDX_KEY_PASSPHRASE, --database-url stops the start with one clear line, not a traceback."""
    result = _serve_and_fail(tmp_path / "data", postgres_url, {})
    assert result.returncode == 2
    assert "IDX_KEY_PASSPHRASE" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_wrong_passphrase_is_refused_at_start(postgres_url: str, tmp_path: Path) -> None:
    """A process with another passphrase than the one the keys were stored with stops, naming the setting."""
    first = _server(tmp_path / "first", postgres_url)
    first.start(timeout=120)
    first.stop()
    result = _serve_and_fail(tmp_path / "second", postgres_url, {"IDX_KEY_PASSPHRASE": "another passphrase"})
    assert result.returncode == 1
    assert "IDX_KEY_PASSPHRASE does not open" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_database_url_that_is_no_postgresql_url_is_refused(tmp_path: Path) -> None:
    """A --database-url that names no PostgreSQL database is a usage error that says what to give."""
    result = _serve_and_fail(tmp_path / "data", "sqlite:///events.db", {"IDX_KEY_PASSPHRASE": PASSPHRASE})
    assert result.returncode == 2
    assert "postgresql://USER:PASSWORD@HOST:PORT/DB" in result.stderr
    assert "Traceback" not in result.stderr
