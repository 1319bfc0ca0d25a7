"""Running `idx serve` as an operator would: private files, one process per data directory, a clean stop, and an
embedded nats-server that admits only the exchange and comes back by itself."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import nats
import nats.errors
import pytest

from exchange.functions.bpqd.sample import sample_body
from simulators.client import ParticipantClient, new_context_id, operator_client, register
from tests.e2e.queue_helpers import PQD_SCOPES, wait_for_queue
from tests.harness import ServerProcess, running_server


async def _send_one(server: ServerProcess, prefix: str) -> tuple[ParticipantClient, ParticipantClient, str]:
    """Register an MC and an LNSP, submit one message from one to the other; both clients and its context id."""
    operator = await operator_client(server.base_url, server.operator_secret)
    mc = ParticipantClient(server.base_url, await register(operator, f"{prefix}MC", ["MC"], PQD_SCOPES))
    lnsp = ParticipantClient(server.base_url, await register(operator, f"{prefix}L", ["LNSP"], PQD_SCOPES))
    await operator.close()
    await mc.login()
    await mc.enrol()
    await lnsp.login()
    context_id = await _submit(mc, lnsp)
    return mc, lnsp, context_id


async def _submit(mc: ParticipantClient, lnsp: ParticipantClient) -> str:
    body = sample_body(mc.participant_id, [lnsp.participant_id], seed=int(time.time() * 1000) % 10_000)
    context_id = new_context_id("pqd", "bpqd", "Medium", mc.participant_id)
    response = await mc.submit(body, context_id=context_id, signature=mc.sign(body))
    assert response.status_code == 200, response.text
    return context_id


async def test_the_embedded_nats_server_refuses_an_anonymous_client(tmp_path: Path) -> None:
    """A local process without the token cannot connect, so it cannot publish a forged route."""
    with running_server(tmp_path / "data") as server:
        conf = (server.data_dir / "nats" / "nats.conf").read_text()
        listen = conf.split('listen: "', 1)[1].split('"', 1)[0]
        # Spoken by hand: nats-py leaves the refused connection's transport for the garbage collector.
        host, port = listen.rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            assert (await reader.readline()).startswith(b"INFO ")
            writer.write(b'CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n')
            await writer.drain()
            assert await reader.readline() == b"-ERR 'Authorization Violation'\r\n"
        finally:
            writer.close()
            await writer.wait_closed()
        token = (server.data_dir / "nats" / "nats.token").read_text().strip()
        client = await nats.connect(f"nats://{token}@{listen}", allow_reconnect=False)
        await client.close()


async def test_no_file_under_the_data_dir_is_readable_by_others_after_traffic(tmp_path: Path) -> None:
    """events.sqlite, views.sqlite, limits.sqlite, their -wal/-shm, pki/ and the NATS store: 0600 files, 0700 dirs."""
    with running_server(tmp_path / "data") as server:
        mc, lnsp, context_id = await _send_one(server, "PRIV")
        assert context_id in await wait_for_queue(lnsp, 1, within=20)
        await mc.close()
        await lnsp.close()
        paths = [server.data_dir, *server.data_dir.rglob("*")]
        names = {p.name for p in paths}
        assert {"events.sqlite-wal", "views.sqlite-shm", "limits.sqlite", "pki", "jetstream"} <= names
        exposed = []
        for path in paths:
            with contextlib.suppress(FileNotFoundError):  # a temporary file JetStream or SQLite removed meanwhile
                mode = stat.S_IMODE(path.lstat().st_mode)
                if mode & 0o077:
                    exposed.append(f"{path} {oct(mode)}")
        assert exposed == []


def test_a_second_idx_serve_on_the_same_data_dir_refuses_and_the_first_keeps_serving(tmp_path: Path) -> None:
    """The second exits non-zero saying the directory is in use; the first's nats-server and API are untouched."""
    with running_server(tmp_path / "data") as first:
        nats_pid = int((first.data_dir / "nats" / "nats.pid").read_text())
        second = subprocess.run(
            [str(Path(sys.executable).parent / "idx"), "serve", "--data-dir", str(first.data_dir), "--port", "0"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert second.returncode != 0
        assert b"in use by another idx process" in second.stderr
        assert Path(f"/proc/{nats_pid}").exists()
        health = httpx.get(f"{first.base_url}/healthz").json()
        assert health["status"] == "ok"
        assert first.process is not None
        assert health["process"]["pid"] == first.process.pid, "the first exchange no longer answers"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_closes_the_exchange_and_exits_0(tmp_path: Path, signum: signal.Signals) -> None:
    """SIGTERM and SIGINT stop the HTTP server, then the exchange (databases closed), and the process exits 0."""
    server = ServerProcess(tmp_path / "data")
    server.start()
    assert server.process is not None
    process = server.process
    process.send_signal(signum)
    try:
        assert process.wait(timeout=30) == 0
    finally:
        server.stop()
    # The exchange closed its event store: SQLite checkpoints and removes the WAL on the last close.
    assert not (server.data_dir / "events.sqlite-wal").exists()


async def test_a_killed_nats_server_is_restarted_and_delivery_resumes_within_10_s(tmp_path: Path) -> None:
    """kill -9 of the embedded nats-server alone: /healthz is 200 again and new messages arrive, no restart."""
    with running_server(tmp_path / "data") as server:
        mc, lnsp, before = await _send_one(server, "SUP")
        assert before in await wait_for_queue(lnsp, 1, within=20)
        assert server.process is not None
        serve_pid = server.process.pid
        os.kill(int((server.data_dir / "nats" / "nats.pid").read_text()), signal.SIGKILL)
        started = time.monotonic()
        await asyncio.sleep(0.5)
        during = await _submit(mc, lnsp)  # accepted while NATS is down: the ledger holds it
        deadline = started + 10
        async with httpx.AsyncClient() as http:
            while (await http.get(f"{server.base_url}/healthz")).status_code != 200:
                assert time.monotonic() < deadline, "healthz did not come back"
                await asyncio.sleep(0.1)
        queued = await wait_for_queue(lnsp, 2, within=max(0.5, deadline - time.monotonic()))
        assert {before, during} <= set(queued)
        assert server.process.pid == serve_pid and server.process.poll() is None
        await mc.close()
        await lnsp.close()
