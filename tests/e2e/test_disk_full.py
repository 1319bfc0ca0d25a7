"""A full disk under the data directory: 507 while full, never 500 or a lost 200; delivery resumes by itself after."""

from __future__ import annotations

import asyncio
import errno
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from exchange.functions.bpqd.sample import sample_body
from simulators.client import ParticipantClient, new_context_id, operator_client, register
from tests.e2e.queue_helpers import PQD_SCOPES, wait_for_queue
from tests.harness import ServerProcess
from tests.problems import assert_problem

DISK = "64m"  # room for a fresh exchange, its nats-server and some messages
CHUNK = 1 << 20


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real filesystem of its own (tmpfs), so that it can fill up without filling the machine's disk."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK},mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"a tmpfs cannot be mounted here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path) -> Path:
    """Write a ballast file until the filesystem refuses another byte (big chunks first, then pages)."""
    ballast = disk / "ballast"
    with ballast.open("wb", buffering=0) as out:
        for chunk in (CHUNK, 4096):
            try:
                while True:
                    out.write(b"\0" * chunk)
            except OSError as error:
                assert error.errno == errno.ENOSPC, error
    return ballast


async def test_a_full_disk_answers_507_and_delivery_resumes_with_nothing_lost_once_space_is_back(
    small_disk: Path,
) -> None:
    """While the disk is full submissions get 507 (never 500, never a 200 that is lost); freed, all arrive once."""
    # The data directory is the small disk itself, so the server's log (kept beside it) still has room.
    server = ServerProcess(small_disk, extra_args=("--rate-limit", "0"))
    server.start()
    clients: list[ParticipantClient] = []
    try:
        operator = await operator_client(server.base_url, server.operator_secret)
        mc = ParticipantClient(server.base_url, await register(operator, "FULLMC", ["MC"], PQD_SCOPES))
        lnsp = ParticipantClient(server.base_url, await register(operator, "FULLL1", ["LNSP"], PQD_SCOPES))
        clients += [operator, mc, lnsp]
        await mc.login()
        await mc.enrol()
        await lnsp.login()

        async def submit(seed: int) -> tuple[str, httpx.Response]:
            body = sample_body(mc.participant_id, [lnsp.participant_id], seed=seed)
            context_id = new_context_id("pqd", "bpqd", "Medium", mc.participant_id)
            return context_id, await mc.submit(body, context_id=context_id, signature=mc.sign(body))

        accepted: list[str] = []
        for seed in range(3):
            context_id, response = await submit(seed)
            assert response.status_code == 200, response.text
            accepted.append(context_id)

        ballast = fill(small_disk)
        refused = 0
        for seed in range(3, 60):  # SQLite may still have a free page or two in its files
            context_id, response = await submit(seed)
            assert response.status_code in (200, 507), f"{response.status_code}: {response.text}\n{server.log_tail()}"
            if response.status_code == 200:
                accepted.append(context_id)
                continue
            assert_problem(response, 507, kind="storage")
            assert int(response.headers["Retry-After"]) > 0
            refused += 1
            if refused >= 3:
                break
        assert refused, "the full disk was never noticed"

        ballast.unlink()
        for seed in range(60, 63):
            context_id, response = await submit(seed)
            assert response.status_code == 200, response.text
            accepted.append(context_id)

        ids = await wait_for_queue(lnsp, len(accepted), within=60)
        assert not [i for i, n in Counter(ids).items() if n > 1], "a message was queued twice"
        assert set(accepted) <= set(ids), f"accepted but lost: {set(accepted) - set(ids)}"
        assert set(ids) <= set(accepted), f"queued but never accepted: {set(ids) - set(accepted)}"
        # Every follower that failed meanwhile recovers by itself: a read model retries within 5 s at most, and a
        # JetStream stream whose file store kept a failed write is healed by restarting the embedded nats-server.
        async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as http:
            for _ in range(300):
                health = await http.get("/healthz")
                if health.status_code == 200:
                    break
                await asyncio.sleep(0.2)
        assert health.status_code == 200, f"{health.text}\n{server.log_tail()}"
    finally:
        for client in clients:
            await client.close()
        server.stop()
