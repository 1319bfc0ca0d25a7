"""`idx bench --json` starts its own exchange and reports every figure with both baselines and the ratios."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_a_short_bench_writes_every_figure_with_both_baselines_and_their_ratios(tmp_path: Path) -> None:
    idx = Path(sys.executable).parent / "idx"
    out = tmp_path / "out.json"
    done = subprocess.run(
        [str(idx), "bench", "--duration", "3", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    [result] = report["results"]
    exchange = result["exchange"]
    assert exchange["accepted"] > 0 and exchange["per_s"] > 0
    assert exchange["latency_saturated"]["matched"] > 0
    assert exchange["half_rate"]["latency"]["p50_ms"] > 0 and exchange["half_rate"]["latency"]["p99_ms"] > 0
    assert exchange["drain"]["messages"] > 0 and exchange["drain"]["per_s"] > 0
    assert result["baselines"]["do_nothing_post"]["per_s"] > 0
    assert result["baselines"]["jetstream_publish_async"]["per_s"] > 0
    assert result["ratios"]["exchange_vs_do_nothing_post"] > 0
    assert result["ratios"]["exchange_vs_jetstream"] > 0
    assert set(result["targets"]) == {"accepted_at_least_half_of_do_nothing", "p99_under_100ms_at_half_rate",
                                      "drain_at_least_accepted"}  # fmt: skip
    assert report["rss"]["processes"]["idx_serve"]["peak_mib"] > 0
    assert report["rss"]["processes"]["nats_server"]["peak_mib"] > 0
    assert "exchange ÷ do-nothing POST" in done.stdout
