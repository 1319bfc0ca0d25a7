"""The benchmark's figures as a table for people (the JSON is for machines)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _mark(ok: bool) -> str:
    return "[green]met[/green]" if ok else "[red]not met[/red]"


def print_report(report: dict[str, Any]) -> None:
    console = Console()
    table = Table(title=f"idx bench ({report['machine']['cpus']} CPUs)")
    table.add_column("figure")
    for result in report["results"]:
        table.add_column(f"{result['size']} ({result['body_bytes']} B, {result['wire_bytes']} B gzip)", justify="right")
    rows: list[tuple[str, Any]] = [
        ("exchange accepted /s", lambda r: f"{r['exchange']['per_s']:.0f}"),
        ("refused (status: count)", lambda r: str(r["exchange"]["refused"] or "none")),
        ("do-nothing POST /s", lambda r: f"{r['baselines']['do_nothing_post']['per_s']:.0f}"),
        ("raw JetStream publish_async /s", lambda r: f"{r['baselines']['jetstream_publish_async']['per_s']:.0f}"),
        ("exchange ÷ do-nothing POST", lambda r: f"{r['ratios']['exchange_vs_do_nothing_post']:.3f}"),
        ("exchange ÷ raw JetStream", lambda r: f"{r['ratios']['exchange_vs_jetstream']:.3f}"),
        ("submit 200 p50 / p99 ms (saturated)", lambda r: _pair(r["exchange"]["latency_saturated"], "submit_")),
        ("→ messageAvailable p50 / p99 ms (saturated)", lambda r: _pair(r["exchange"]["latency_saturated"], "")),
        ("half rate /s", lambda r: f"{r['exchange']['half_rate']['per_s']:.0f}"),
        ("→ messageAvailable p50 / p99 ms (half rate)", lambda r: _pair(r["exchange"]["half_rate"]["latency"], "")),
        ("LNSP drain /s (list+get+delete)", lambda r: f"{r['exchange']['drain']['per_s']:.0f}"),
        ("idx serve CPU ms / accepted (saturated)", lambda r: _cpu(r["exchange"]["cpu"], "idx_serve")),
        ("nats-server CPU ms / accepted (saturated)", lambda r: _cpu(r["exchange"]["cpu"], "nats_server")),
        ("idx serve CPU ms / accepted (half rate)", lambda r: _cpu(r["exchange"]["half_rate"]["cpu"], "idx_serve")),
        ("nats-server CPU ms / accepted (half rate)", lambda r: _cpu(r["exchange"]["half_rate"]["cpu"], "nats_server")),
        ("idx serve CPU ms / drained", lambda r: _cpu(r["exchange"]["drain"]["cpu"], "idx_serve")),
        ("messageAvailable missing", lambda r: str(_missing(r))),
        ("target: accepted ≥ 20% of do-nothing", lambda r: _mark(r["targets"]["accepted_at_least_0_2_of_do_nothing"])),
        (
            "longer term: accepted ≥ 50% of do-nothing",
            lambda r: _mark(r["targets"]["accepted_at_least_0_5_of_do_nothing_longer_term"]),
        ),
        ("target: p99 < 100 ms at half rate", lambda r: _mark(r["targets"]["p99_under_100ms_at_half_rate"])),
        ("target: p99 < 1 s saturated", lambda r: _mark(r["targets"]["p99_under_1s_saturated"])),
        ("target: drain ≥ accepted", lambda r: _mark(r["targets"]["drain_at_least_accepted"])),
        ("target: no messageAvailable missing", lambda r: _mark(r["targets"]["no_message_available_missing"])),
    ]
    for name, cell in rows:
        table.add_row(name, *(cell(result) for result in report["results"]))
    console.print(table)
    rss = report["rss"]
    parts = ", ".join(f"{name} peak {p['peak_mib']:.0f} MiB ({p['start_mib']:.0f} → {p['end_mib']:.0f})"
                      for name, p in rss["processes"].items())  # fmt: skip
    console.print(f"server RSS: {parts}; grew {rss['growth_mib']:.1f} MiB over {rss['messages_accepted']} messages "
                  f"(≈ {rss['growth_mib_per_million_extrapolated']:.0f} MiB per million, extrapolated)")  # fmt: skip


def _cpu(figures: dict[str, Any], name: str) -> str:
    """The figure, or why there is none (an exchange at --url whose processes the bench cannot see)."""
    figure = figures[name]
    return figure["unknown"] if "unknown" in figure else f"{figure['ms_per_message']:.2f}"


def _missing(result: dict[str, Any]) -> int:
    exchange = result["exchange"]
    return int(exchange["latency_saturated"]["missing"]) + int(exchange["half_rate"]["latency"]["missing"])


def _pair(figures: dict[str, Any], prefix: str) -> str:
    return f"{figures[prefix + 'p50_ms']:.1f} / {figures[prefix + 'p99_ms']:.1f}"


def print_soak_report(report: dict[str, Any]) -> None:
    soak = report["soak"]
    flow, queued, rss = soak["flow"], soak["queued"], soak["rss"]
    table = Table(title=f"idx bench --soak {soak['messages']:,}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    cpu = flow["cpu"]
    rows = [
        ("flow: accepted /s (LNSPs draining)", f"{flow['per_s']:.0f}"),
        (
            "flow: backlog when sending stopped (drained in s)",
            f"{flow['backlog_when_sending_stopped']:,} ({flow['seconds_to_drain_the_backlog']:.0f})",
        ),
        ("flow: idx serve CPU ms / message (accept to drain)", _cpu(cpu, "idx_serve")),
        ("flow: nats-server CPU ms / message (accept to drain)", _cpu(cpu, "nats_server")),
        (f"accepted /s with {queued['small']['queued_before']:,} queued", f"{queued['small']['per_s']:.0f}"),
        (f"accepted /s with {queued['large']['queued_before']:,} queued", f"{queued['large']['per_s']:.0f}"),
        ("large ÷ small queue", f"{queued['ratio']:.2f}"),
        ("final drain /s", f"{queued['drain']['per_s']:.0f}"),
        *(
            (
                f"RSS {name.removesuffix('_mib')} start → end of flow (peak) MiB",
                f"{rss['start_mib'][name]:.0f} → {rss['end_of_flow_mib'][name]:.0f} ({rss['peak_mib'][name]:.0f})",
            )
            for name in rss["start_mib"]
        ),
        ("RSS growth after warm-up, MiB", f"{rss['growth_after_warmup_mib']:.1f} over {rss['measured_over']:,}"),
        ("RSS growth per million (straight line below 1M)", f"{rss['growth_mib_per_million']:.0f}"),
        (
            "left in queues / messageAvailable missing",
            f"{soak['left_in_queues']} / {soak['message_available_missing']}",
        ),
        ("target: RSS growth < 50 MB per million", _mark(soak["targets"]["rss_growth_under_50mib_per_million"])),
        ("target: rate at N queued ≥ 2/3 of small queue", _mark(soak["targets"]["queued_rate_at_least_two_thirds"])),
        ("target: no messageAvailable missing", _mark(soak["targets"]["no_message_available_missing"])),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console = Console()
    console.print(table)
    hours = soak["estimated_seconds_for_a_million"] / 3600
    console.print(f"{soak['accepted']:,} accepted in {soak['seconds']:.0f} s; at this run's rates a soak of "
                  f"1,000,000 takes ≈ {hours:.1f} h")  # fmt: skip
