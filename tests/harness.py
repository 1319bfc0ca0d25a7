"""Starting `idx serve` as a separate process, as a participant's system would meet it."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

import httpx

from exchange.kernel.network import free_port

# With `pytest --on-postgres`, a source of fresh databases: each data directory a test serves gets one of its own
# (the same one again when a test starts a server on that directory again), given as --database-url.
fresh_database: Callable[[], str] | None = None
DATABASE_PASSPHRASE = "a passphrase of the tests on PostgreSQL"
_databases: dict[Path, str] = {}


class ServerProcess:
    """One `idx serve` on a free port with its own data directory and nats-server."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
        tls: ssl.SSLContext | None = None,
        env: dict[str, str] | None = None,
        own_process_group: bool = False,
    ) -> None:
        # With `tls` (the context a client trusts the server with), the server was given --tls-cert: HTTPS.
        self.tls = tls
        self.data_dir = data_dir
        self.port = port or free_port()
        self.extra_args = extra_args
        # Variables for the server besides the test's own environment (IDX_KEY_PASSPHRASE, say).
        self.env = env or {}
        if fresh_database is not None and "--database-url" not in extra_args:
            if data_dir not in _databases:
                _databases[data_dir] = fresh_database()
            self.extra_args = (*extra_args, "--database-url", _databases[data_dir])
            self.env = {"IDX_KEY_PASSPHRASE": DATABASE_PASSPHRASE, **self.env}
        # A process group of its own lets kill9 reach every process idx serve starts (worker processes too), not
        # only the two it knows by pid; off by default so that Ctrl-C of pytest still reaches the server.
        self.own_process_group = own_process_group
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-serve.log"

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def operator_secret(self) -> str:
        return (self.data_dir / "operator.secret").read_text().strip()

    def start(self, timeout: float = 60.0) -> None:
        idx = Path(sys.executable).parent / "idx"
        self._log = log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(idx), "serve", "--data-dir", str(self.data_dir), "--port", str(self.port), *self.extra_args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "IDX_LOG_LEVEL": os.environ.get("IDX_LOG_LEVEL", "INFO"), **self.env},
            start_new_session=self.own_process_group,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._close_log()
                raise RuntimeError(f"idx serve exited with {self.process.returncode}:\n{self.log_tail()}")
            with suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/healthz", timeout=1.0, verify=self.tls or True).status_code == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"idx serve did not become healthy:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill9(self) -> None:
        """`kill -9` of every process of the exchange: idx serve and its nats-server."""
        nats_pid = self._nats_pid()
        if self.process is not None and self.own_process_group:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
        self._close_log()
        if nats_pid is not None:
            with suppress(ProcessLookupError):
                os.kill(nats_pid, signal.SIGKILL)
            _wait_gone(nats_pid)

    def _nats_pid(self) -> int | None:
        pid_file = self.data_dir / "nats" / "nats.pid"
        with suppress(OSError, ValueError):
            return int(pid_file.read_text().strip())
        return None

    def log_tail(self, lines: int = 40) -> str:
        with suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def _wait_gone(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


@contextmanager
def running_server(data_dir: Path, *extra_args: str, tls: ssl.SSLContext | None = None) -> Iterator[ServerProcess]:
    server = ServerProcess(data_dir, extra_args=extra_args, tls=tls)
    server.start()
    try:
        yield server
    finally:
        server.stop()
