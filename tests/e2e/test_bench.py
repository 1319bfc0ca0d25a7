"""`idx bench --json` starts its own exchange and reports every figure with both baselines and the ratios."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SOAK_MESSAGES = 2000


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
    assert set(result["targets"]) == {
        "accepted_at_least_0_2_of_do_nothing",
        "accepted_at_least_0_5_of_do_nothing_longer_term",
        "p99_under_100ms_at_half_rate",
        "p99_under_1s_saturated",
        "drain_at_least_accepted",
        "no_message_available_missing",
    }
    # CPU per accepted message of both server processes, read from /proc around each phase (nats-server's share of
    # a short paced phase can be under one clock tick, so only its presence is asserted there).
    for phase in (exchange, exchange["half_rate"]):
        assert phase["cpu"]["idx_serve"]["seconds"] > 0 and phase["cpu"]["idx_serve"]["ms_per_message"] > 0
        assert phase["cpu"]["nats_server"]["seconds"] >= 0 and "ms_per_message" in phase["cpu"]["nats_server"]
    assert exchange["cpu"]["nats_server"]["ms_per_message"] > 0
    assert exchange["drain"]["cpu"]["idx_serve"]["ms_per_message"] > 0
    assert report["rss"]["processes"]["idx_serve"]["peak_mib"] > 0
    assert report["rss"]["processes"]["nats_server"]["peak_mib"] > 0
    assert "exchange ÷ do-nothing POST" in done.stdout
    assert "longer term: accepted ≥ 50% of do-nothing" in done.stdout


@pytest.mark.slow
def test_a_small_soak_sends_its_messages_twice_samples_memory_and_compares_the_queued_rates(tmp_path: Path) -> None:
    """`idx bench --soak N` at a small N: N drained as they come, N queued; every one accounted for."""
    idx = Path(sys.executable).parent / "idx"
    out = tmp_path / "soak.json"
    done = subprocess.run(
        [str(idx), "bench", "--soak", str(SOAK_MESSAGES), "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    soak = json.loads(out.read_text())["soak"]
    assert soak["accepted"] >= 2 * SOAK_MESSAGES and not soak["refused"]
    assert soak["flow"]["accepted"] >= SOAK_MESSAGES and soak["flow"]["drained"] == soak["flow"]["accepted"]
    assert 0 <= soak["flow"]["backlog_when_sending_stopped"] <= soak["flow"]["accepted"]
    small, large = soak["queued"]["small"], soak["queued"]["large"]
    assert small["queued_before"] >= SOAK_MESSAGES // 10 and large["queued_before"] >= SOAK_MESSAGES
    assert small["per_s"] > 0 and large["per_s"] > 0
    assert soak["queued"]["ratio"] == pytest.approx(large["per_s"] / small["per_s"])
    assert soak["left_in_queues"] == 0 and soak["message_available_missing"] == 0
    # Memory sampled all along: at the start, after every chunk of the flow, while filling and after the drain.
    stages = [sample["stage"] for sample in soak["samples"]]
    assert stages[0] == "start" and stages.count("flow") >= 10 and "filling" in stages and stages[-1] == "drained"
    assert all(sample["idx_serve_mib"] > 0 and sample["nats_server_mib"] > 0 for sample in soak["samples"])
    assert soak["rss"]["measured_over"] > 0 and soak["estimated_seconds_for_a_million"] > 0
    assert set(soak["targets"]) == {"rss_growth_under_50mib_per_million", "queued_rate_at_least_two_thirds",
                                    "no_message_available_missing"}  # fmt: skip
    assert "a soak of 1,000,000 takes" in done.stdout
