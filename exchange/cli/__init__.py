"""The `idx` command."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import uvicorn
import uvloop

from certs.authority import HUB_KEY_TYPES
from exchange.cli.sample import sample
from exchange.kernel.files import DataDirInUseError
from exchange.kernel.logging import configure_logging
from exchange.messaging.connection import NatsUnavailableError, nats_servers
from exchange.settings import Settings, env_var

if TYPE_CHECKING:
    from exchange.cli.workers import WorkerSeat

_Command = TypeVar("_Command", bound=Callable[..., Any])


def _host_port(_: click.Context, __: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    host, _colon, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter("give HOST:PORT, e.g. 127.0.0.1:9464")
    return value


def _quota(_: click.Context, __: click.Parameter, value: str) -> tuple[int, int, int]:
    try:
        high, medium, low = (int(part) for part in value.split(","))
    except ValueError as error:
        raise click.BadParameter("give three numbers: High,Medium,Low (e.g. 180000,35000,18000)") from error
    return high, medium, low


@click.group()
@click.version_option(package_name="idx-exchange")
def main() -> None:
    """An industry data exchange for electricity markets."""


# The files the TLS options name: each must exist and be a file.
_PEM_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _setting_option(setting: str, *, flag: str = "", **attrs: Any) -> Callable[[_Command], _Command]:
    """The `serve` option of one setting: `--the-name`, its `IDX_` variable and its default, all from Settings."""
    if hasattr(Settings, setting):  # a field without a default (data_dir) is no class attribute
        attrs.setdefault("default", getattr(Settings, setting))
    declarations = (flag, setting) if flag else ("--" + setting.replace("_", "-"),)
    return click.option(*declarations, envvar=env_var(setting), **attrs)


@main.command()
@_setting_option(
    "data_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Where the read models and JetStream live, and the event store and keys without --database-url.",
)
@_setting_option("host", show_default=True)
@_setting_option("port", show_default=True, type=int)
@_setting_option(
    "nats_url",
    help="Use this NATS instead of starting one: nats://HOST:PORT, or a comma-separated list of a cluster's servers.",
)
@_setting_option(
    "nats_token",
    help="The token the --nats-url servers require (better given as IDX_NATS_TOKEN, which ps does not show).",
)
@_setting_option(
    "stream_replicas",
    type=click.IntRange(1, 5),
    help="Replicas of the JetStream streams [default: 3 on a cluster of 3 or more JetStream servers, else 1].",
)
@_setting_option(
    "database_url",
    help="Keep the event store, the read models and the keys in this PostgreSQL database "
    "(postgresql://USER:PASSWORD@HOST:PORT/DB) instead of SQLite under the data directory; needs IDX_KEY_PASSPHRASE.",
)
@_setting_option(
    "rate_limit", show_default=True, type=int, help="Requests per minute per participant and endpoint (0 = off)."
)
@_setting_option(
    "daily_quota",
    default=",".join(map(str, Settings.daily_quota)),
    show_default=True,
    callback=_quota,
    help="Messages per sender per day: High,Medium,Low.",
)
@_setting_option(
    "certificate_warning_days",
    show_default=True,
    type=click.IntRange(1, 365),
    help="Warn a participant this many days before one of its certificates expires.",
)
@_setting_option("test_clock", is_flag=True, help="Enable POST /admin/v1/clock.")
@click.option("--demo", is_flag=True, help="Create demo participants and print their credentials.")
@_setting_option(
    "environment",
    show_default=True,
    help="Name shown on every web app screen: Production (grey border), Pre-production (green), other (amber).",
)
@_setting_option(
    "plugins",
    flag="--plugin",
    multiple=True,
    help="A business function to serve besides the installed ones, as module:attribute; repeat for several "
    "(IDX_PLUGINS: separated by spaces).",
)
@_setting_option("log_level", show_default=True)
@_setting_option(
    "operator_secret",
    help="The operator client's secret on first start (default: random); written to DATA_DIR/operator.secret.",
)
@_setting_option(
    "key_passphrase",
    help="With --database-url: the passphrase the keys in the database are encrypted with. "
    "Prefer the IDX_KEY_PASSPHRASE variable: a command line is visible to every user.",
)
@_setting_option(
    "tls_cert",
    type=_PEM_FILE,
    help="Serve HTTPS and WSS with this certificate chain (PEM); needs --tls-key. Without it: plain HTTP.",
)
@_setting_option("tls_key", type=_PEM_FILE, help="The private key (PEM) of --tls-cert.")
@_setting_option(
    "tls_client_ca",
    type=_PEM_FILE,
    help="Mutual TLS: refuse every client without a certificate this CA (PEM) issued. Needs --tls-cert.",
)
@_setting_option(
    "metrics_bind",
    callback=_host_port,
    help="Serve /metrics on this HOST:PORT (plain HTTP) instead of on the public port.",
)
@_setting_option(
    "hub_key_type",
    type=click.Choice(HUB_KEY_TYPES),
    help="The hub's signing key (receipts, re-signatures, tree heads), made on first start; later starts keep "
    "it [default: rsa-2048].",
)
@_setting_option(
    "signing_processes",
    type=click.IntRange(0),
    show_default=True,
    help="Processes that check and make signatures beside the server (0: in its threads).",
)
@_setting_option(
    "delivery_lag_limit",
    type=click.FloatRange(0),
    show_default=True,
    help="Seconds delivery may trail the accepted messages before submissions wait for it (0 = off).",
)
@_setting_option(
    "delivery_lag_wait",
    type=click.FloatRange(0),
    show_default=True,
    help="Seconds a submission waits at most for delivery to catch up; then it goes on regardless.",
)
@_setting_option(
    "workers",
    type=click.IntRange(1),
    show_default=True,
    help="Processes serving the whole API behind one port (SO_REUSEPORT), supervised by this one.",
)
def serve(**options: Any) -> None:
    """Run the exchange: HTTP API, routing and projections, with its own nats-server unless told otherwise."""
    # The options are named after the settings, so they make the Settings as they are.
    settings = Settings(**{**options, "data_dir": options["data_dir"].resolve()})
    if settings.database_url is not None:
        _check_database_options(settings.database_url, settings.key_passphrase)
    if settings.nats_url is not None:
        try:
            nats_servers(settings.nats_url)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--nats-url") from None
    elif (settings.stream_replicas or 1) > 1:
        raise click.UsageError("--stream-replicas above 1 needs a NATS cluster: give its servers with --nats-url")
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise click.UsageError("give --tls-cert and --tls-key together")
    if settings.tls_client_ca is not None and settings.tls_cert is None:
        raise click.UsageError("--tls-client-ca needs --tls-cert and --tls-key")
    if settings.workers > 1 and settings.test_clock:
        # The test clock's offset lives in the process that was told to move it: workers would disagree on the time.
        raise click.UsageError("--test-clock moves one process's clock: use it with --workers 1")
    configure_logging(settings.log_level.upper())
    # Every file and directory the exchange creates holds payloads or secrets: its user's alone. A umask covers
    # the files SQLite and nats-server create by themselves (-wal, -shm, the JetStream store) from the start.
    os.umask(0o077)
    # Imported here, as the server is: the event store's modules load psycopg, which client commands do not need.
    from exchange.eventstore.shared_keys import SharedKeysError

    try:
        if settings.workers > 1:
            from exchange.cli.workers import run_workers

            run_workers(settings)
        else:
            uvloop.run(_serve(settings))
    except (DataDirInUseError, NatsUnavailableError, SharedKeysError) as error:
        raise click.ClickException(str(error)) from None


def _check_database_options(database_url: str, key_passphrase: str | None) -> None:
    from exchange.eventstore.ledger import DatabaseUrlError, database_parts

    try:
        database_parts(database_url)
    except DatabaseUrlError as error:
        raise click.BadParameter(str(error), param_hint="--database-url") from None
    if not key_passphrase:
        raise click.UsageError(
            "--database-url keeps the exchange's keys in the database, encrypted: set IDX_KEY_PASSPHRASE "
            "(the same for every process of this exchange)"
        )


class _Server(uvicorn.Server):
    """uvicorn's server, leaving SIGTERM and SIGINT to `_serve`.

    uvicorn raises a caught signal again once it has shut down, which killed the process before the exchange
    closed its databases; `_serve` stops the server, then the exchange, and returns.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve(settings: Settings, seat: WorkerSeat | None = None) -> None:
    """Serve until SIGTERM or SIGINT: on the configured port, or as a worker in the `seat` its parent gave it."""
    from exchange.bootstrap import start_exchange
    from exchange.cli.demo import ensure_demo_participants
    from exchange.http.app import create_app, create_metrics_app
    from exchange.http.limits import LimitedHttpToolsProtocol

    stopping = asyncio.Event()
    servers: list[_Server] = []

    def stop() -> None:
        stopping.set()
        for server in servers:
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    exchange = await start_exchange(settings, data_dir_lock=seat.data_dir_lock if seat else None)
    try:
        if stopping.is_set():
            return  # asked to stop while starting
        if settings.demo:
            _print_credentials(settings, await ensure_demo_participants(exchange))
        app = create_app(exchange)
        config = uvicorn.Config(
            app if seat is None else seat.tagged(app),
            host=settings.host,
            port=settings.port,
            loop="none",
            http=LimitedHttpToolsProtocol,  # httptools, with limits on the head and read timeouts
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="on",
            **_tls_options(settings),
        )
        servers.append(_Server(config))
        if settings.metrics_bind is not None:
            metrics_host, metrics_port = settings.metrics_bind.rsplit(":", 1)
            metrics_config = uvicorn.Config(
                create_metrics_app(exchange),
                host=metrics_host.strip("[]"),
                port=int(metrics_port),
                loop="none",
                http=LimitedHttpToolsProtocol,
                log_config=None,
                log_level="warning",
                access_log=False,
                lifespan="off",
            )
            servers.append(_Server(metrics_config))
        if not stopping.is_set():
            await _serve_together(servers, seat)
    finally:
        await exchange.stop()


async def _serve_together(servers: list[_Server], seat: WorkerSeat | None = None) -> None:
    """Run every listener until one stops, then the rest; a worker listens on its seat's shared ports."""
    tasks = [
        asyncio.create_task(server.serve(sockets=None if seat is None else [seat.listen(server.config)]))
        for server in servers
    ]
    if seat is not None:
        await seat.report_ready(servers, tasks)
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for server in servers:
        server.should_exit = True
    await asyncio.gather(*tasks)


def _tls_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's TLS options: none for plain HTTP; with a client CA, a client certificate is required."""
    if settings.tls_cert is None:
        return {}
    options: dict[str, Any] = {"ssl_certfile": str(settings.tls_cert), "ssl_keyfile": str(settings.tls_key)}
    if settings.tls_client_ca is not None:
        options |= {"ssl_ca_certs": str(settings.tls_client_ca), "ssl_cert_reqs": ssl.CERT_REQUIRED}
    return options


def _print_credentials(settings: Settings, credentials: list[dict[str, object]]) -> None:
    scheme = "https" if settings.tls_cert else "http"
    base = f"{scheme}://{settings.host}:{settings.port}"
    operator_secret = (settings.data_dir / "operator.secret").read_text().strip()
    lines = [
        f"IDX exchange on {base} (data in {settings.data_dir})",
        "",
        f"  OPERATOR  client_id=operator  client_secret={operator_secret}",
    ]
    lines += [
        f"  {c['participantId']:<9} client_id={c['clientId']}  client_secret={c['clientSecret']}  roles={c['roles']}"
        for c in credentials
    ]
    lines += [
        "",
        f"  token:  curl -s {base}/oauth/token -d grant_type=client_credentials "
        "-d client_id=ID -d client_secret=SECRET",
        "",
    ]
    click.echo("\n".join(lines), err=True)


@main.command("rebuild")
@click.argument(
    "view",
    type=click.Choice(
        [
            "translog",
            "archive",
            "queue",
            "participants",
            "flow_history",
            "acknowledgements",
            "plugin_aggregates",
            "plugin_messages",
            "log",
        ]
    ),
)
@click.option("--data-dir", envvar=env_var("data_dir"), type=click.Path(path_type=Path, exists=True), required=True)
@click.option(
    "--plugin",
    "plugins",
    envvar=env_var("plugins"),
    default=Settings.plugins,
    multiple=True,
    help="A business function `idx serve` serves besides the installed ones (its listings are rebuilt too).",
)
@click.option(
    "--database-url",
    envvar=env_var("database_url"),
    help="The PostgreSQL database `idx serve --database-url` keeps the event store and the read models in.",
)
def rebuild_view(view: str, data_dir: Path, plugins: tuple[str, ...], database_url: str | None) -> None:
    """Rebuild a read model from zero out of the event store. Stop `idx serve` on DIR first."""
    from exchange.functions.registry import Registry
    from exchange.readmodels.rebuild import rebuild

    registry = Registry.from_entry_points(plugins)
    position = uvloop.run(rebuild(data_dir.resolve(), view, registry, database_url))
    click.echo(f"{view} rebuilt up to position {position}")


main.add_command(sample)


from exchange.cli.certs import certs  # noqa: E402

main.add_command(certs)

from exchange.cli.simulate import bench, simulate  # noqa: E402

main.add_command(simulate)
main.add_command(bench)

from exchange.cli.verify import verify  # noqa: E402

main.add_command(verify)

from exchange.cli.publish import publish  # noqa: E402

main.add_command(publish)

from exchange.cli.cluster import cluster  # noqa: E402

main.add_command(cluster)
