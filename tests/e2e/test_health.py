"""`/healthz` tells whether the exchange can do its work."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx

from tests.harness import running_server


def test_health_is_503_naming_nats_when_its_nats_server_is_gone(tmp_path: Path) -> None:
    """With its nats-server killed the exchange answers 503 and names NATS as the failing part."""
    with running_server(tmp_path / "data") as server:
        assert httpx.get(f"{server.base_url}/healthz").json()["status"] == "ok"
        nats_pid = int((server.data_dir / "nats" / "nats.pid").read_text())
        os.kill(nats_pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        response = httpx.get(f"{server.base_url}/healthz")
        while response.status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.1)
            response = httpx.get(f"{server.base_url}/healthz")
        assert response.status_code == 503
        assert "nats" in response.json()["failing"]


def test_health_names_the_process_and_every_follower_it_runs_when_alone(tmp_path: Path) -> None:
    """A process alone holds the lease of every follower: the relay, the deliverer, the read models, housekeeping."""
    with running_server(tmp_path / "data") as server:
        assert server.process is not None
        process = httpx.get(f"{server.base_url}/healthz").json()["process"]
        assert process["pid"] == server.process.pid
        assert process["leases"] == sorted(process["leases"])
        assert {"relay", "deliverer", "queue", "translog", "archive", "log", "notifications", "housekeeping"} <= set(
            process["leases"]
        )


def test_stopping_idx_serve_stops_the_nats_server_it_started(tmp_path: Path) -> None:
    """SIGTERM to idx serve ends its own nats-server too: nothing is left running on the data directory."""
    with running_server(tmp_path / "data") as server:
        nats_pid = int((server.data_dir / "nats" / "nats.pid").read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{nats_pid}").exists():
        time.sleep(0.05)
    assert (
        not Path(f"/proc/{nats_pid}").exists() or b"nats-server" not in Path(f"/proc/{nats_pid}/cmdline").read_bytes()
    )
