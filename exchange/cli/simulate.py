"""`idx simulate` (the industry test scenarios against a running exchange) and `idx bench` (the benchmark)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
import uvloop

from exchange.cli.operator import read_operator_secret
from exchange.cli.tls import ca_file_option
from exchange.settings import env_var

_SECRET_MISSING = "give --data-dir DIR (to read DIR/operator.secret) or --operator-secret"  # noqa: S105 - a usage message, not a secret
SCENARIO_NAMES = [
    "submit-and-verify-format",
    "metadata",
    "list-by-priority",
    "delete-at-high-watermark",
    "manual-stop-on-off",
    "meter-churn",
    "recall-plans",
    "energy-bids",
    "prudential",
    "ssm-schedules",
    "market-day",
]


@click.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Choice(["all", *SCENARIO_NAMES]))
@click.option("--url", default="http://127.0.0.1:8080", show_default=True, help="The exchange.")
@ca_file_option
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), help="Its data directory.")
@click.option("--operator-secret", envvar=env_var("operator_secret"), help="Instead of DIR/operator.secret.")
@click.option("--duration", default=20.0, show_default=True, help="market-day: seconds of steady load.")
@click.option("--rate", default=2.0, show_default=True, help="market-day: messages per second over all senders.")
@click.option("--nmis", default=2, show_default=True, help="market-day: NMIs per message.")
def simulate(
    scenarios: tuple[str, ...],
    url: str,
    data_dir: Path | None,
    operator_secret: str | None,
    duration: float,
    rate: float,
    nmis: int,
) -> None:
    """Run industry test scenarios (AEMO's industry test plan, Table 7) against a running exchange; each makes its own
    participants through the admin API and checks its own outcome. Exit code 1 if any failed."""
    from simulators.runner import print_outcomes, run_scenarios

    names = SCENARIO_NAMES if "all" in scenarios else list(dict.fromkeys(scenarios))
    secret = read_operator_secret(operator_secret, data_dir, missing=_SECRET_MISSING)
    options = {"duration": duration, "rate": rate, "nmis": nmis}
    outcomes = uvloop.run(run_scenarios(url.rstrip("/"), secret, names, options))
    print_outcomes(outcomes)
    if any(outcome.status == "failed" for outcome in outcomes):
        sys.exit(1)


@click.command()
@click.option(
    "--url",
    default=None,
    help="Benchmark this running exchange instead of starting one; several processes of one exchange separated by "
    "commas (e.g. `make cluster`'s http://127.0.0.1:8081,http://127.0.0.1:8082): senders and receivers take turns.",
)
@click.option(
    "--nats-url",
    default=None,
    help="With --url: the exchange's NATS (its --nats-url, servers separated by commas) for the raw JetStream "
    "baseline; its token in IDX_NATS_TOKEN. Without it, the embedded server's of --data-dir.",
)
@ca_file_option
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), help="With --url: its data dir.")
@click.option(
    "--operator-secret", envvar=env_var("operator_secret"), help="With --url, instead of DIR/operator.secret."
)
@click.option("--server-pid", type=int, default=None, help="With --url: the idx serve process (for its RSS).")
@click.option("--senders", default=2, show_default=True, help="Sender processes.")
@click.option("--receivers", default=2, show_default=True, help="Receiver (LNSP) processes.")
@click.option("--connections", default=16, show_default=True, help="Keep-alive connections per sender process.")
@click.option("--size", "sizes", multiple=True, default=["1KiB"], show_default=True,
              help="Payload size (1KiB, 100KiB, 1MB); repeat for several.")  # fmt: skip
@click.option("--duration", default=10.0, show_default=True, help="Seconds per timed phase.")
@click.option("--messages", type=int, default=None, help="Messages per timed phase instead of a duration.")
@click.option("--json", "json_out", is_flag=False, flag_value="-", default=None,
              help="Write the figures as JSON to FILE, or to stdout with a bare --json.")  # fmt: skip
@click.option("--keep", is_flag=True, help="Keep the temporary data directory of a server the bench started.")
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True,
              help="Worker processes of the exchange the bench starts (idx serve --workers).")  # fmt: skip
@click.option("--soak", type=click.IntRange(min=100), default=None, metavar="N",
              help="Soak instead of the phases: N messages with the LNSPs draining, then N queued undrained; "
                   "RSS over time and accepted/s at 10k and at N queued (first --size).")  # fmt: skip
def bench(
    url: str | None,
    nats_url: str | None,
    data_dir: Path | None,
    operator_secret: str | None,
    server_pid: int | None,
    senders: int,
    receivers: int,
    connections: int,
    sizes: tuple[str, ...],
    duration: float,
    messages: int | None,
    json_out: str | None,
    keep: bool,
    workers: int,
    soak: int | None,
) -> None:
    """Benchmark the exchange: N sender processes by M receiver processes; accepted submissions/s, submit →
    messageAvailable latency, LNSP drain rate, server RSS; with a do-nothing POST and raw JetStream baseline
    in the same run, and their ratios. Starts its own exchange on a temporary directory unless --url."""
    from simulators.bench.report import print_report, print_soak_report
    from simulators.bench.runner import BenchConfig, run_bench
    from simulators.bench.soak import run_soak
    from simulators.figures import parse_size

    try:
        payload_sizes = [parse_size(size) for size in sizes]
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--size") from error
    secret = read_operator_secret(operator_secret, data_dir, missing=_SECRET_MISSING) if url else None
    urls = [part.strip().rstrip("/") for part in url.split(",") if part.strip()] if url else []
    config = BenchConfig(
        url=urls[0] if urls else None,
        urls=urls,
        nats_url=nats_url,
        nats_token=os.environ.get(env_var("nats_token")),
        data_dir=data_dir,
        operator_secret=secret,
        server_pid=server_pid,
        senders=senders,
        receivers=receivers,
        connections=connections,
        sizes=payload_sizes,
        duration=duration,
        messages=messages,
        keep=keep,
        workers=workers,
    )
    to_stdout = json_out == "-"
    log = sys.stderr if to_stdout else sys.stdout
    report: dict[str, Any] = run_soak(config, soak, log) if soak else run_bench(config, log)
    report["command"] = " ".join(["idx", *sys.argv[1:]]) if sys.argv else "idx bench"
    if not to_stdout:
        (print_soak_report if soak else print_report)(report)
    if json_out is not None:
        text = json.dumps(report, indent=2)
        if to_stdout:
            click.echo(text)
        else:
            Path(json_out).write_text(text + "\n")
            click.echo(f"figures written to {os.path.abspath(json_out)}")
