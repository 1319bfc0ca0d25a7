"""`idx cluster` (`make cluster`): the exchange as it runs on several machines, on this one.

A three-node NATS JetStream cluster (exchange.messaging.cluster), a PostgreSQL cluster (the distribution's, started
with initdb and pg_ctl as an unprivileged user: exchange.eventstore.local_postgres) and two `idx serve` processes
sharing both, each with the demo participants. Everything lives under one directory (./var/cluster), so a second
run starts where the first stopped. SIGTERM or Ctrl-C stops all of it, the exchanges first, then NATS and
PostgreSQL; nothing is left running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from exchange.eventstore.local_postgres import LocalPostgres, postgres_bin
from exchange.kernel.files import write_private
from exchange.messaging.cluster import LocalNatsCluster, _secret_in
from exchange.messaging.natsserver import _parent_death_signal

DATABASE = "idx"
STARTUP_SECONDS = 180.0  # a first start makes the keys and streams; a loaded machine is slow at it
STOP_SECONDS = 30.0


def _ports(_: click.Context, __: click.Parameter, value: str) -> list[int]:
    try:
        ports = [int(part) for part in value.split(",")]
    except ValueError:
        raise click.BadParameter("give the ports separated by commas, e.g. 8081,8082") from None
    if not ports or any(not 0 < port < 65536 for port in ports) or len(set(ports)) != len(ports):
        raise click.BadParameter("give distinct ports between 1 and 65535, e.g. 8081,8082")
    return ports


_F = TypeVar("_F", bound=Callable[..., Any])


def _port_option(flag: str, default: int, help: str, *, highest: int = 65535) -> Callable[[_F], _F]:
    """A TCP port option, 0 for a free one."""
    return click.option(flag, type=click.IntRange(0, highest), default=default, show_default=True, help=help)


@click.command("cluster", context_settings={"ignore_unknown_options": True})
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("var/cluster"),
    show_default=True,
    help="Where NATS, PostgreSQL and each exchange keep their data, logs and credentials.",
)
@click.option("--ports", default="8081,8082", show_default=True, callback=_ports, help="One `idx serve` on each port.")
@_port_option(
    "--nats-port",
    4222,
    "The NATS nodes' client ports are this and the next two (routes +100, monitoring +200); 0: free ports.",
    # Room above it for the other two nodes' ports and the routes' and monitoring's offsets.
    highest=65000,
)
@_port_option("--postgres-port", 5433, "PostgreSQL's port on 127.0.0.1; 0: a free port.")
@click.argument("serve_args", nargs=-1, type=click.UNPROCESSED)
def cluster(directory: Path, ports: list[int], nats_port: int, postgres_port: int, serve_args: tuple[str, ...]) -> None:
    """Run a three-node NATS cluster, PostgreSQL and an `idx serve` on each port, until SIGTERM or Ctrl-C.

    SERVE_ARGS after `--` go to every `idx serve` (e.g. `idx cluster -- --rate-limit 0` for a benchmark)."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise click.ClickException(
            "PostgreSQL is not installed: `make postgres` installs it from the distribution's packages"
        )
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    # As root, PostgreSQL runs as `nobody`, who must be able to pass through to its directory (but list nothing).
    directory.chmod(0o711)
    closed = [folder for folder in directory.parents if not folder.stat().st_mode & 0o001]
    if os.geteuid() == 0 and closed:
        raise click.ClickException(
            f"PostgreSQL runs as `nobody` and cannot pass through {closed[0]}: "
            "`chmod o+x` it, or give a --dir all users can reach (e.g. under /tmp)"
        )
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())

    nats = LocalNatsCluster(directory / "nats", base_port=nats_port or None)
    postgres = LocalPostgres(bin_dir, directory / "postgres", port=postgres_port or None)
    serves: list[subprocess.Popen[bytes]] = []
    try:
        database_url = _start_backends(nats, postgres)
        environment = {
            **os.environ,
            "IDX_KEY_PASSPHRASE": os.environ.get("IDX_KEY_PASSPHRASE") or _secret_in(directory / "key.passphrase"),
            "IDX_NATS_TOKEN": nats.token,
        }
        for number, port in enumerate(ports, start=1):
            data_dir = directory / f"serve-{number}"
            if number > 1:
                # The first exchange made the demo participants' clients: the others serve the same ones rather
                # than add clients of their own to the shared database.
                _share_demo_clients(directory / "serve-1", data_dir)
            click.echo(f"starting idx serve on port {port} in {data_dir}", err=True)
            serves.append(_serve(data_dir, port, database_url, nats.url, environment, serve_args))
            _wait_healthy(port, serves[-1], data_dir, stopping)
        if not stopping.is_set():
            click.echo(_summary(directory, ports, nats, postgres), err=True)
        while not stopping.wait(1.0):
            exited = [process for process in serves if process.poll() is not None]
            if exited:
                raise click.ClickException(f"an idx serve stopped (exit {exited[0].returncode}): see its log")
    finally:
        click.echo("stopping", err=True)
        for process in serves:
            if process.poll() is None:
                process.terminate()
        for process in serves:
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        nats.stop()
        postgres.stop()


def _start_backends(nats: LocalNatsCluster, postgres: LocalPostgres) -> str:
    """Start NATS and PostgreSQL; the exchange's database URL. A failure (a port taken, say) ends the command with
    its reason rather than a traceback."""
    try:
        click.echo(f"starting a NATS cluster of three in {nats.directory}", err=True)
        nats.start(timeout=60)
        click.echo(f"starting PostgreSQL in {postgres.directory}", err=True)
        postgres.start()
        return postgres.create_database(DATABASE)
    except (RuntimeError, TimeoutError, OSError) as error:
        raise click.ClickException(str(error)) from None


def _serve(
    data_dir: Path,
    port: int,
    database_url: str,
    nats_url: str,
    environment: dict[str, str],
    serve_args: tuple[str, ...],
) -> subprocess.Popen[bytes]:
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    idx = Path(sys.executable).parent / "idx"
    command = [
        str(idx), "serve", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port), "--demo",
        "--database-url", database_url, "--nats-url", nats_url, "--stream-replicas", "3", *serve_args,
    ]  # fmt: skip
    with (data_dir.parent / f"{data_dir.name}.log").open("ab") as log:
        return subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            # Its own process group, so that Ctrl-C reaches this command alone and it stops the exchanges in order;
            # killed by the kernel if this command is killed (-9) before it could.
            start_new_session=True,
            preexec_fn=_parent_death_signal(),
        )


def _wait_healthy(port: int, process: subprocess.Popen[bytes], data_dir: Path, stopping: threading.Event) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while not stopping.is_set():
        if process.poll() is not None:
            raise click.ClickException(f"idx serve on port {port} exited; see {data_dir.parent / data_dir.name}.log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        if time.monotonic() > deadline:
            raise click.ClickException(f"idx serve on port {port} was not healthy within {STARTUP_SECONDS:.0f}s")
        time.sleep(0.2)


def _share_demo_clients(first: Path, data_dir: Path) -> None:
    credentials = first / "demo-clients.json"
    if credentials.exists() and not (data_dir / credentials.name).exists():
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_private(data_dir / credentials.name, credentials.read_bytes())


def _summary(directory: Path, ports: list[int], nats: LocalNatsCluster, postgres: LocalPostgres) -> str:
    first = directory / "serve-1"
    lines = ["", "IDX cluster running (Ctrl-C or SIGTERM stops all of it):", ""]
    for number, port in enumerate(ports, start=1):
        lines.append(f"  idx serve   http://127.0.0.1:{port}   log {directory}/serve-{number}.log")
    lines += [
        f"  NATS        {nats.url}   token in {nats.directory / 'nats.token'}",
        f"  PostgreSQL  postgresql://{postgres.url(DATABASE).split('@', 1)[1]}   user idx, password in "
        f"{postgres.directory}/superuser.password",
        f"  keys        IDX_KEY_PASSPHRASE in {directory / 'key.passphrase'} (unless given)",
        "",
        f"  OPERATOR    client_id=operator  secret in {first / 'operator.secret'}",
    ]
    demo = first / "demo-clients.json"
    for client in json.loads(demo.read_text()) if demo.exists() else []:
        lines.append(
            f"  {client['participantId']:<11} client_id={client['clientId']}  client_secret={client['clientSecret']}"
            f"  roles={','.join(client['roles'])}"
        )
    lines += ["", f"  token:  curl -s http://127.0.0.1:{ports[0]}/oauth/token -d grant_type=client_credentials "
              "-d client_id=ID -d client_secret=SECRET", ""]  # fmt: skip
    return "\n".join(lines)
