"""`idx simulate all` against a running exchange: every scenario passes; none may be skipped as not served."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.harness import running_server

BPQD_SCENARIOS = [
    "submit-and-verify-format",
    "metadata",
    "list-by-priority",
    "delete-at-high-watermark",
    "manual-stop-on-off",
    "market-day",
]
MARKET_DAY = ["--duration", "5", "--rate", "4"]


def test_every_served_scenario_passes_and_the_bpqd_ones_all_run(tmp_path: Path) -> None:
    """The pass/fail table names each scenario; every one passed (recall plans, bids and meter churn are served)."""
    idx = Path(sys.executable).parent / "idx"
    with running_server(tmp_path / "data", "--rate-limit", "0", "--test-clock") as server:
        done = subprocess.run(
            [str(idx), "simulate", "all", "--url", server.base_url, "--data-dir", str(server.data_dir), *MARKET_DAY],
            capture_output=True,
            text=True,
            timeout=240,
            env={**os.environ, "COLUMNS": "200"},
        )
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in done.stdout.splitlines()
            if line.startswith("│") and line.split("│")[1].strip()}  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    for name in [*BPQD_SCENARIOS, "meter-churn", "recall-plans", "energy-bids", "prudential"]:
        assert rows.get(name) == "passed", (name, done.stdout)
    assert set(rows.values()) == {"passed"}, done.stdout
