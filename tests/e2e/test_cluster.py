"""`idx cluster` (what `make cluster` runs): two exchanges on one PostgreSQL and a three-node NATS cluster."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from exchange.functions.bpqd.sample import sample_body
from exchange.kernel.network import free_port
from simulators.client import Credentials, ParticipantClient
from tests.e2e.queue_helpers import accepted_id, queued_ids, settled_queues, wait_for_queue
from tests.problems import assert_problem

STARTUP_SECONDS = 300.0  # three nats-servers, initdb and two first starts, on a shared and loaded machine
STOP_SECONDS = 120.0


class RunningCluster:
    def __init__(self, directory: Path, process: subprocess.Popen[bytes], ports: list[int]) -> None:
        self.directory = directory
        self.process = process
        self.urls = [f"http://127.0.0.1:{port}" for port in ports]

    def output(self) -> str:
        return (self.directory / "cluster.out").read_text(errors="replace")

    def credentials(self, participant_id: str) -> Credentials:
        clients = json.loads((self.directory / "c" / "serve-1" / "demo-clients.json").read_text())
        entry = next(c for c in clients if c["participantId"] == participant_id)
        return Credentials(participant_id, entry["clientId"], entry["clientSecret"])


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _processes_of(pid: int) -> set[int]:
    """`pid` and every process whose parent is among them (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found = {pid}
    while True:
        more = {child for child, parent in parents.items() if parent in found} - found
        if not more:
            return found
        found |= more


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def running_cluster() -> Iterator[RunningCluster]:
    # Not under pytest's tmp_path: PostgreSQL runs as `nobody` when the tests run as root, and must reach its folder.
    directory = Path(tempfile.mkdtemp(prefix="idx-cluster-"))
    directory.chmod(0o711)
    ports = [free_port(), free_port()]
    idx = Path(sys.executable).parent / "idx"
    command = [
        str(idx), "cluster", "--dir", str(directory / "c"), "--ports", ",".join(map(str, ports)),
        "--nats-port", "0", "--postgres-port", "0", "--", "--rate-limit", "0",
    ]  # fmt: skip
    environment = {key: value for key, value in os.environ.items() if key != "IDX_KEY_PASSPHRASE"}
    with (directory / "cluster.out").open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=environment)
    cluster = RunningCluster(directory, process, ports)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while "IDX cluster running" not in cluster.output():
            assert process.poll() is None, f"idx cluster exited:\n{cluster.output()}"
            assert time.monotonic() < deadline, f"idx cluster did not start:\n{cluster.output()}"
            time.sleep(0.5)
        yield cluster
    finally:
        if process.poll() is None:
            process.kill()  # a test that failed before its SIGTERM: the kernel takes the exchanges down with it
            process.wait()
        postmaster = directory / "c" / "postgres" / "data" / "postmaster.pid"
        if postmaster.exists():
            subprocess.run(["kill", "-9", postmaster.read_text().split()[0]], check=False)
        shutil.rmtree(directory, ignore_errors=True)


async def test_a_message_sent_through_one_exchange_is_listed_fetched_and_deleted_through_the_other(
    running_cluster: RunningCluster,
) -> None:
    """Sent via the first port, listed once, fetched byte-identical and deleted via the second; SIGTERM stops all."""
    first, second = running_cluster.urls
    assert _healthy(first) and _healthy(second)
    assert "MC1" in running_cluster.output(), "the demo participants are not printed"
    mc = ParticipantClient(first, running_cluster.credentials("MC1"))
    lnsp = ParticipantClient(second, running_cluster.credentials("LNSP1"))
    try:
        await mc.login()
        await mc.enrol()
        await lnsp.login()
        body = sample_body(mc.participant_id, [lnsp.participant_id], seed=16)
        context_id = await accepted_id(mc, body)

        assert await wait_for_queue(lnsp, 1, within=60) == [context_id]
        # Both exchanges run every follower until leases decide otherwise: the deliverer of each consumes the one
        # durable consumer, so the message is queued once, not once per process (a later one, queued, shows it).
        assert await settled_queues(mc, lnsp) == [[context_id]]
        fetched = await lnsp.fetch(context_id)
        assert fetched.status_code == 200
        assert fetched.content == body
        assert (await lnsp.delete(context_id)).status_code == 204
        assert context_id not in await queued_ids(lnsp)
        assert_problem(await lnsp.fetch(context_id), 404)
    finally:
        await mc.close()
        await lnsp.close()

    process = running_cluster.process
    postmaster = running_cluster.directory / "c" / "postgres" / "data" / "postmaster.pid"
    processes = _processes_of(process.pid) | {int(postmaster.read_text().split()[0])}
    assert len(processes) >= 7, f"not all of it runs: {processes}"  # itself, 3 nats-servers, 2 exchanges, postgres
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=STOP_SECONDS) == 0, running_cluster.output()
    left = [pid for pid in processes if _alive(pid)]
    assert left == [], f"still running after SIGTERM: {left}"


def test_idx_bench_loads_both_exchanges_of_the_cluster_and_its_nats_cluster(running_cluster: RunningCluster) -> None:
    """`idx bench --url A,B --nats-url ...` sends through both processes; its JetStream baseline runs on the cluster."""
    cluster_dir = running_cluster.directory / "c"
    nats_url = next(word for word in running_cluster.output().split() if word.startswith("nats://"))
    out = running_cluster.directory / "bench.json"
    accepted_before = [_accepted_in(cluster_dir / f"serve-{n}.log") for n in (1, 2)]
    idx = Path(sys.executable).parent / "idx"
    done = subprocess.run(
        [str(idx), "bench", "--url", ",".join(running_cluster.urls), "--nats-url", nats_url,
         "--data-dir", str(cluster_dir / "serve-1"), "--messages", "200", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "IDX_NATS_TOKEN": (cluster_dir / "nats" / "nats.token").read_text().strip()},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    [result] = report["results"]
    assert result["exchange"]["accepted"] == 200 and result["exchange"]["refused"] == {}
    assert result["exchange"]["latency_saturated"]["missing"] == 0
    assert result["baselines"]["jetstream_publish_async"]["per_s"] > 0
    assert report["config"]["url"] == ",".join(running_cluster.urls)
    assert (cluster_dir / "nats" / "nats.token").read_text().strip() not in out.read_text(), "the token is reported"
    accepted_after = [_accepted_in(cluster_dir / f"serve-{n}.log") for n in (1, 2)]
    for number, (before, after) in enumerate(zip(accepted_before, accepted_after, strict=True), start=1):
        assert after > before, f"the exchange on port {number} accepted none of the bench's messages"


def _accepted_in(log: Path) -> int:
    return log.read_text(errors="replace").count('"message_accepted"')
