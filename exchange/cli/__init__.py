"""The `idx` command."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import uvicorn
import uvloop

from exchange.cli.sample import sample
from exchange.kernel.logging import configure_logging
from exchange.settings import Settings, env_var

_Command = TypeVar("_Command", bound=Callable[..., Any])


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
    help="Where the event store, read models, JetStream and keys live.",
)
@_setting_option("host", show_default=True)
@_setting_option("port", show_default=True, type=int)
@_setting_option("nats_url", help="Use this NATS instead of starting one.")
@_setting_option("database_url", help="Use this database instead of SQLite under the data directory.")
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
def serve(**options: Any) -> None:
    """Run the exchange: HTTP API, routing and projections, with its own nats-server unless told otherwise."""
    # The options are named after the settings, so they make the Settings as they are.
    settings = Settings(**{**options, "data_dir": options["data_dir"].resolve()})
    if settings.database_url is not None:
        raise click.UsageError("--database-url (PostgreSQL) is not supported yet; leave it out to use SQLite")
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise click.UsageError("give --tls-cert and --tls-key together")
    if settings.tls_client_ca is not None and settings.tls_cert is None:
        raise click.UsageError("--tls-client-ca needs --tls-cert and --tls-key")
    configure_logging(settings.log_level.upper())
    uvloop.run(_serve(settings))


async def _serve(settings: Settings) -> None:
    from exchange.bootstrap import start_exchange
    from exchange.cli.demo import ensure_demo_participants
    from exchange.http.app import create_app
    from exchange.http.limits import LimitedHttpToolsProtocol

    exchange = await start_exchange(settings)
    try:
        if settings.demo:
            _print_credentials(settings, await ensure_demo_participants(exchange))
        config = uvicorn.Config(
            create_app(exchange),
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
        await uvicorn.Server(config).serve()
    finally:
        await exchange.stop()


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
    "view", type=click.Choice(["translog", "archive", "queue", "participants", "flow_history", "plugin_aggregates"])
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
def rebuild_view(view: str, data_dir: Path, plugins: tuple[str, ...]) -> None:
    """Rebuild a read model from zero out of the event store. Stop `idx serve` on DIR first."""
    from exchange.functions.registry import Registry
    from exchange.readmodels.rebuild import rebuild

    position = uvloop.run(rebuild(data_dir.resolve(), view, Registry.from_entry_points(plugins)))
    click.echo(f"{view} rebuilt up to position {position}")


main.add_command(sample)


from exchange.cli.certs import certs  # noqa: E402

main.add_command(certs)

from exchange.cli.simulate import bench, simulate  # noqa: E402

main.add_command(simulate)
main.add_command(bench)
