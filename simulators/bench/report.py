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
        ("exchange ÷ do-nothing POST", lambda r: f"{r['ratios']['exchange_vs_do_nothing_post']:.2f}"),
        ("exchange ÷ raw JetStream", lambda r: f"{r['ratios']['exchange_vs_jetstream']:.3f}"),
        ("submit 200 p50 / p99 ms (saturated)", lambda r: _pair(r["exchange"]["latency_saturated"], "submit_")),
        ("→ messageAvailable p50 / p99 ms (saturated)", lambda r: _pair(r["exchange"]["latency_saturated"], "")),
        ("half rate /s", lambda r: f"{r['exchange']['half_rate']['per_s']:.0f}"),
        ("→ messageAvailable p50 / p99 ms (half rate)", lambda r: _pair(r["exchange"]["half_rate"]["latency"], "")),
        ("LNSP drain /s (list+get+delete)", lambda r: f"{r['exchange']['drain']['per_s']:.0f}"),
        ("target: accepted ≥ 50% of do-nothing", lambda r: _mark(r["targets"]["accepted_at_least_half_of_do_nothing"])),
        ("target: p99 < 100 ms at half rate", lambda r: _mark(r["targets"]["p99_under_100ms_at_half_rate"])),
        ("target: drain ≥ accepted", lambda r: _mark(r["targets"]["drain_at_least_accepted"])),
    ]
    for name, cell in rows:
        table.add_row(name, *(cell(result) for result in report["results"]))
    console.print(table)
    rss = report["rss"]
    parts = ", ".join(f"{name} peak {p['peak_mib']:.0f} MiB ({p['start_mib']:.0f} → {p['end_mib']:.0f})"
                      for name, p in rss["processes"].items())  # fmt: skip
    console.print(f"server RSS: {parts}; grew {rss['growth_mib']:.1f} MiB over {rss['messages_accepted']} messages "
                  f"(≈ {rss['growth_mib_per_million_extrapolated']:.0f} MiB per million, extrapolated)")  # fmt: skip


def _pair(figures: dict[str, Any], prefix: str) -> str:
    return f"{figures[prefix + 'p50_ms']:.1f} / {figures[prefix + 'p99_ms']:.1f}"
