"""The bench's process figures (CPU time and process trees from /proc) and the soak's scaled steps."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from simulators.bench.rss import cpu_seconds, process_tree
from simulators.bench.runner import NO_PID, CpuMeter
from simulators.bench.soak import soak_sizes


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_cpu_seconds_grows_with_the_cpu_a_process_uses() -> None:
    before = cpu_seconds(os.getpid())
    _spin(0.2)
    after = cpu_seconds(os.getpid())
    assert before is not None and after is not None
    assert after - before >= 0.15


def test_cpu_seconds_of_a_process_that_is_gone_is_none() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert cpu_seconds(child.pid) is None


def test_a_process_tree_holds_the_children_and_leaves_out_an_excluded_one_with_its_own() -> None:
    keep = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    leave = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        tree = process_tree(os.getpid(), {leave.pid})
        assert os.getpid() in tree and keep.pid in tree and leave.pid not in tree
    finally:
        for child in (keep, leave):
            child.kill()
            child.wait()


def test_the_meter_says_which_pid_is_unknown_instead_of_giving_a_figure() -> None:
    meter = CpuMeter({"idx_serve": os.getpid()})
    before = meter.read()
    _spin(0.1)
    figures = meter.per_message(before, 10)
    assert figures["nats_server"] == {"unknown": NO_PID["nats_server"]}
    assert figures["idx_serve"]["seconds"] >= 0.05
    assert figures["idx_serve"]["ms_per_message"] == figures["idx_serve"]["seconds"] / 10 * 1000


def test_the_soak_keeps_the_issues_steps_at_a_million_and_scales_them_down_for_small_runs() -> None:
    assert soak_sizes(1_000_000) == {"small_queue": 10_000, "window": 5_000, "chunk": 2_000}
    assert soak_sizes(2_000) == {"small_queue": 200, "window": 200, "chunk": 100}
