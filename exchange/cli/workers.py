"""`idx serve --workers N`: N processes serving one exchange behind one port.

The parent claims the data directory and does what must happen once per directory before processes share it (the
keys, the event store's and the counters' tables, the embedded nats-server with its token), then starts the
workers and supervises them. Each worker is a whole `idx serve` process (HTTP, WebSocket, the followers of the
log) that binds its own listening socket to the one port with SO_REUSEPORT: the kernel spreads new connections
over the workers' sockets, and a worker that dies takes only its own connections with it. The parent holds the
port with a socket that is bound but never listens, so nothing else takes the port while a worker restarts, and it
never answers a request itself.

What a worker needs from its parent travels through a pipe on its standard input (the NATS token included: a
command line is visible to every user of the machine), and the data directory's lock is inherited as an open file
(see `join_data_dir`). A worker dies with its parent, however the parent ends (the kernel's parent-death signal).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, replace
from typing import IO, Any

import click
import structlog
import uvicorn
import uvloop

from exchange.kernel.files import claim_data_dir, join_data_dir
from exchange.kernel.logging import configure_logging
from exchange.settings import Settings

log = structlog.get_logger(__name__)

# Every answer of a worker names the process that gave it, so that an operator (and the tests) can tell them apart.
WORKER_HEADER = "x-idx-worker"
# The first worker creates what the parent cannot (the views' tables, the streams, the operator): the others start
# once it answers. A slow machine may take a while to load the plugins and the keys.
FIRST_WORKER_TIMEOUT = 300.0
# How long workers get to finish their requests and close their databases on SIGTERM before they are killed.
STOP_TIMEOUT = 30.0
# Seconds before a dead worker is started again, by how many times in a row it died soon after starting: a worker
# that cannot start (a broken plugin, a full disk) must not spin.
RESTART_BACKOFF = (0.0, 1.0, 2.0, 5.0)
# A worker that ran this long before dying counts as healthy: its restart is immediate again.
HEALTHY_RUN = 30.0
PR_SET_PDEATHSIG = 1


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port with SO_REUSEPORT, so that every process of this user binding the same way
    shares the port; uvicorn (asyncio) makes it listen."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


@dataclass(frozen=True)
class _Orders:
    """What the parent tells a worker, through the pipe on its standard input."""

    settings: Settings
    lock_fd: int
    ready_fd: int
    parent_pid: int


@dataclass
class WorkerSeat:
    """A worker's place behind the shared port: its parent's lock of the data directory and the pipe on which it
    says it is ready."""

    data_dir_lock: IO[bytes]
    ready_fd: int

    def listen(self, config: uvicorn.Config) -> socket.socket:
        return reuse_port_socket(config.host, config.port)

    def tagged(self, app: Any) -> Any:
        return _WorkerHeader(app)

    async def report_ready(self, servers: Sequence[uvicorn.Server], tasks: Sequence[asyncio.Future[Any]]) -> None:
        """Tell the parent once every listener accepts connections (or never, if one stops first)."""
        while not all(server.started for server in servers):
            if any(task.done() for task in tasks):
                return
            await asyncio.sleep(0.05)
        # The parent may have stopped listening (it does not wait for restarted workers): that is no error.
        with contextlib.suppress(OSError):
            os.write(self.ready_fd, b"ready")
        with contextlib.suppress(OSError):
            os.close(self.ready_fd)


class _WorkerHeader:
    """ASGI middleware adding `x-idx-worker: PID` to every HTTP answer."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._value = str(os.getpid()).encode()

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_tagged(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), (WORKER_HEADER.encode(), self._value)]}
            await send(message)

        await self._app(scope, receive, send_tagged)


@dataclass
class _Worker:
    number: int
    process: subprocess.Popen[bytes]
    started: float
    # Deaths in a row soon after starting, and when a dead worker is due to start again.
    failures: int = 0
    restart_at: float | None = None


class _Supervisor:
    """Starts the workers, starts again any that dies, and stops them all."""

    def __init__(self, settings: Settings, lock: IO[bytes], stopping: threading.Event) -> None:
        self._settings = settings
        self._lock = lock
        self._stopping = stopping
        self.workers: list[_Worker] = []

    def launch(self, number: int, *, demo: bool = False) -> tuple[_Worker, int]:
        """Start worker `number`; its process and the read end of the pipe on which it says it is ready."""
        ready_read, ready_write = os.pipe()
        try:
            # Started from the main thread only: the parent-death signal fires when the thread that forked ends.
            process = subprocess.Popen(
                [sys.executable, "-m", "exchange.cli.workers"],
                stdin=subprocess.PIPE,
                pass_fds=(self._lock.fileno(), ready_write),
            )
        finally:
            os.close(ready_write)
        orders = _Orders(replace(self._settings, demo=demo), self._lock.fileno(), ready_write, os.getpid())
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # it died at once: the supervision loop sees that
            process.stdin.write(pickle.dumps(orders))
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        worker = _Worker(number, process, time.monotonic())
        log.info("worker_started", worker=number, pid=process.pid)
        return worker, ready_read

    def wait_ready(self, worker: _Worker, ready_read: int, timeout: float) -> bool:
        """Whether the worker said it is ready within `timeout` (False when it died or the parent is stopping)."""
        deadline = time.monotonic() + timeout
        with os.fdopen(ready_read, "rb") as ready:
            while not self._stopping.is_set() and time.monotonic() < deadline:
                readable, _, _ = select.select([ready], [], [], 0.5)
                if readable:
                    return ready.read(5) == b"ready"  # b"" when it died before it was ready
        return False

    def supervise(self) -> None:
        """Until told to stop: start again each worker that died, after the backoff its recent deaths earned."""
        while not self._stopping.wait(0.2):
            for index, worker in enumerate(self.workers):
                if worker.process.poll() is None:
                    continue
                now = time.monotonic()
                if worker.restart_at is None:
                    ran = now - worker.started
                    worker.failures = 0 if ran >= HEALTHY_RUN else worker.failures + 1
                    delay = RESTART_BACKOFF[min(worker.failures, len(RESTART_BACKOFF) - 1)]
                    worker.restart_at = now + delay
                    log.error(
                        "worker_died",
                        worker=worker.number,
                        pid=worker.process.pid,
                        returncode=worker.process.returncode,
                        restart_in=delay,
                    )
                if now >= worker.restart_at and not self._stopping.is_set():
                    replacement, ready_read = self.launch(worker.number)
                    os.close(ready_read)  # nobody waits for a restarted worker: the others serve meanwhile
                    replacement.failures = worker.failures
                    self.workers[index] = replacement

    def stop(self) -> None:
        """SIGTERM to every worker; those that have not stopped within STOP_TIMEOUT are killed."""
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for worker in self.workers:
            try:
                worker.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("worker_killed", worker=worker.number, pid=worker.process.pid)
                worker.process.kill()
                worker.process.wait()


def run_workers(settings: Settings) -> None:
    """Run `settings.workers` worker processes behind `settings.port` until SIGTERM or SIGINT."""
    from exchange.bootstrap import prepare_data_dir
    from exchange.messaging.natsserver import EmbeddedNatsServer

    lock = claim_data_dir(settings.data_dir)
    stopping = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stopping.set()) for signum in (signal.SIGTERM, signal.SIGINT)}
    supervisor: _Supervisor | None = None
    nats_server = None
    held: list[socket.socket] = []
    try:
        uvloop.run(prepare_data_dir(settings))
        held.append(_hold_port(settings.host, settings.port))
        port = held[0].getsockname()[1]
        if settings.metrics_bind is not None:
            metrics_host, metrics_port = settings.metrics_bind.rsplit(":", 1)
            held.append(_hold_port(metrics_host, int(metrics_port)))
        shared = replace(settings, port=port, workers=1, demo=False)
        if settings.nats_url is None:
            nats_server = EmbeddedNatsServer(settings.data_dir / "nats")
            nats_server.start()
            # Given to the workers as any external NATS is; only the parent supervises this one.
            shared = replace(shared, nats_url=nats_server.address, nats_token=nats_server.token)
        supervisor = _Supervisor(shared, lock, stopping)
        # The first worker alone creates what the others then find: the views' tables, the streams, the operator.
        first, ready_read = supervisor.launch(1, demo=settings.demo)
        supervisor.workers.append(first)
        if not supervisor.wait_ready(first, ready_read, FIRST_WORKER_TIMEOUT):
            if stopping.is_set():
                return
            raise click.ClickException("the first worker did not start; its log above says why")
        for number in range(2, settings.workers + 1):
            worker, ready_read = supervisor.launch(number)
            os.close(ready_read)
            supervisor.workers.append(worker)
        log.info(
            "workers_serving",
            port=port,
            pids=[worker.process.pid for worker in supervisor.workers],
        )
        supervisor.supervise()
    finally:
        if supervisor is not None:
            supervisor.stop()
        if nats_server is not None:
            nats_server.stop()
        for sock in held:
            sock.close()
        lock.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        log.info("workers_stopped")


def _hold_port(host: str, port: int) -> socket.socket:
    """Bind (without listening) the port the workers will share, so that a port in use stops the start here."""
    try:
        return reuse_port_socket(host, port)
    except OSError as error:
        raise click.ClickException(f"cannot use {host}:{port}: {error.strerror}") from None


def _die_with_parent(parent_pid: int) -> None:
    """Have the kernel kill this worker when its parent ends, even by kill -9 (Linux); exit at once if the parent
    ended before the request was made."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(1)


def worker_main() -> None:
    """A worker: read the parent's orders, join its data directory, and serve on the shared port."""
    # The parent wrote these to the pipe it started us with; nobody else can write there.
    orders: _Orders = pickle.loads(sys.stdin.buffer.read())  # noqa: S301
    _die_with_parent(orders.parent_pid)
    settings = orders.settings
    configure_logging(settings.log_level.upper())
    os.umask(0o077)
    from exchange.cli import _serve

    seat = WorkerSeat(join_data_dir(settings.data_dir, orders.lock_fd), orders.ready_fd)
    try:
        uvloop.run(_serve(settings, seat))
    except BaseException:
        log.exception("worker_failed")
        # A start that failed half-way can leave threads behind (a database connection's) that would keep this
        # process alive for ever; the parent must see it end, to start another or to give up.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)


if __name__ == "__main__":
    worker_main()
