"""`idx bench --soak N`: N messages through the exchange with the LNSPs draining as they arrive, then the same N
again into queues nobody drains; server memory sampled all along, and the accepted rate with a small queue
(10k, or a tenth of N) against the rate with N queued.

The two stages answer the issue's two soak targets: memory must not grow with the messages that went through
(flow), and accepting must not slow down as queues grow (queued). They are separate because a queue of N builds
only when nothing drains it, and memory is best judged while the exchange does all of its work.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import IO, Any

from simulators.bench.rss import memory_kib, process_tree
from simulators.bench.runner import (
    FRAMES_WAIT,
    BenchConfig,
    BenchServer,
    CpuMeter,
    Log,
    Workers,
    cast_participants,
    send_phase,
)
from simulators.figures import percentile, rate, ratio

SMALL_QUEUE = 10_000  # the "accepted/s at 10k queued"
WINDOW = 5_000  # messages over which each queued rate is measured
CHUNK = 2_000  # messages between two memory samples
TARGET_GROWTH_MIB = 50.0  # over a million messages
TARGET_QUEUED_RATIO = 2 / 3  # accepted/s with N queued against accepted/s with 10k queued
MILLION = 1_000_000
# Seconds after the senders stop within which every message they had accepted must reach the queues and be drained.
LATE_DELIVERY_SECONDS = 120


def soak_sizes(messages: int) -> dict[str, int]:
    """The soak's steps for `messages`: at a million the issue's 10k queue and 5k windows; scaled down for the
    small runs of the test suite, so that the small queue stays well below N."""
    return {
        "small_queue": min(SMALL_QUEUE, messages // 10),
        "window": max(50, min(WINDOW, messages // 10)),
        "chunk": max(100, min(CHUNK, messages // 20)),
    }


def run_soak(config: BenchConfig, messages: int, log: IO[str]) -> dict[str, Any]:
    say = Log(log)
    with ExitStack() as stack:
        server = stack.enter_context(BenchServer(config, say))
        return asyncio.run(_soak(config, server, messages, say))
    raise AssertionError("unreachable")


class _Frames:
    """Joins the receivers' messageAvailable frames with the senders' records, without keeping either for long:
    a soak of a million would otherwise hold every id in memory in three processes."""

    def __init__(self, workers: Workers) -> None:
        self.workers = workers
        self.pending: dict[str, float] = {}  # accepted, no frame yet: sent time
        self.early: dict[str, float] = {}  # a frame before the sender's record of its 200: arrival time
        self.latencies: list[float] = []

    def accepted(self, records: list[tuple[str, float, float]]) -> None:
        for context_id, sent, _ in records:
            if (arrived := self.early.pop(context_id, None)) is not None:
                self.latencies.append((arrived - sent) * 1000)
            else:
                self.pending[context_id] = sent

    async def collect(self) -> list[float]:
        """The latencies matched since the last call (ms)."""
        for reply in await self.workers.receivers({"op": "frames"}):
            for context_id, arrived in reply["frames"].items():
                if (sent := self.pending.pop(context_id, None)) is not None:
                    self.latencies.append((arrived - sent) * 1000)
                else:
                    self.early[context_id] = arrived
        matched, self.latencies = self.latencies, []
        return matched

    async def settle(self) -> int:
        """Wait (a while) for the frames still missing; how many never came."""
        deadline = time.monotonic() + FRAMES_WAIT
        while self.pending and time.monotonic() < deadline:
            await self.collect()
            if self.pending:
                await asyncio.sleep(0.5)
        return len(self.pending)


class _Memory:
    """RSS of idx serve (with any worker processes) and of its nats-server, sampled between chunks."""

    def __init__(self, pids: dict[str, int], started: float) -> None:
        self.pids = pids
        self.started = started
        self.samples: list[dict[str, Any]] = []

    def sample(self, stage: str, accepted: int, queued: int, latencies: list[float]) -> dict[str, Any]:
        nats = self.pids.get("nats_server")
        row: dict[str, Any] = {"seconds": time.time() - self.started, "stage": stage, "accepted": accepted,
                               "queued": queued}  # fmt: skip
        for name, pid in self.pids.items():
            tree = process_tree(pid, {nats} if nats is not None else set()) if name == "idx_serve" else [pid]
            row[f"{name}_mib"] = sum(memory_kib(member).get("VmRSS", 0) for member in tree) / 1024
        row["p99_ms"] = percentile(latencies, 0.99) if latencies else None
        self.samples.append(row)
        return row


async def _soak(config: BenchConfig, server: BenchServer, messages: int, say: Log) -> dict[str, Any]:
    steps = soak_sizes(messages)
    size = config.sizes[0]
    cast = await cast_participants(config, server.urls, server.secret, say)
    pids = server.pids()
    meter = CpuMeter(pids, server.other_serves())
    workers = Workers(cast)
    started = time.time()
    frames = _Frames(workers)
    memory = _Memory(pids, started)
    accepted_total = 0
    sending_seconds = 0.0  # time spent in send phases, without the sampling between chunks
    refused: dict[str, int] = {}

    async def send(count: int) -> dict[str, Any]:
        nonlocal accepted_total, sending_seconds
        phase = await send_phase(config, workers, server.urls, None, messages=count)
        frames.accepted(phase.pop("records"))
        accepted_total += int(phase["accepted"])
        sending_seconds += float(phase["seconds"])
        for status, number in phase["refused"].items():
            refused[status] = refused.get(status, 0) + number
        return phase

    async def send_until(goal: int, reached: Callable[[], int], stage: str, queued: Callable[[], int]) -> None:
        while reached() < goal:
            phase = await send(min(steps["chunk"], goal - reached()))
            row = memory.sample(stage, accepted_total, queued(), await frames.collect())
            say(f"{stage}: {row['accepted']:,} accepted ({phase['per_s']:.0f}/s), {row['queued']:,} queued; RSS "
                f"idx serve {row.get('idx_serve_mib', 0):.0f} MiB, nats-server {row.get('nats_server_mib', 0):.0f}"
                f" MiB")  # fmt: skip
            if phase["accepted"] == 0:
                raise RuntimeError(f"the exchange accepted none of a chunk (refused: {phase['refused']})")

    try:
        await workers.listening()
        await workers.senders({"op": "prepare", "size": size, "pool": 64})
        say(
            f"soak of {messages:,} messages: flow (LNSPs draining), then {messages:,} queued with the drain "
            f"paused (rates at {steps['small_queue']:,} and {messages:,} queued, {steps['window']:,} each)"
        )
        memory.sample("start", 0, 0, [])

        # Flow: the LNSPs drain while the senders send.
        await workers.receivers({"op": "drain_on"})
        before = meter.read()
        await send_until(messages, lambda: accepted_total, "flow", lambda: accepted_total - workers.drained_so_far())
        # What the LNSPs had not yet taken when the senders stopped: a drain slower than acceptance shows here.
        backlog = accepted_total - workers.drained_so_far()
        drain_off_started = time.time()
        drained_in_flow = sum(int(r["drained"]) for r in await workers.receivers({"op": "drain_off"}, within=None))
        # Messages accepted just before the stop may still be on their way to the queues: drain until each one
        # accepted is taken (or the time allowed is up, which the report then shows as a shortfall).
        deadline = time.time() + LATE_DELIVERY_SECONDS
        while drained_in_flow < accepted_total and time.time() < deadline:
            await asyncio.sleep(0.5)
            drained_in_flow += sum(int(r["drained"]) for r in await workers.receivers({"op": "drain"}, within=None))
        flow = {
            "accepted": accepted_total,
            "seconds": sending_seconds,
            "per_s": rate(accepted_total, sending_seconds),
            "drained": drained_in_flow,
            "backlog_when_sending_stopped": backlog,
            "seconds_to_drain_the_backlog": time.time() - drain_off_started,
            # Per message through the whole exchange: accepted, delivered and drained.
            "cpu": meter.per_message(before, accepted_total),
        }
        memory.sample("flow drained", accepted_total, accepted_total - drained_in_flow, await frames.collect())

        # Queued: nobody drains; the rate over a window with a small queue, then over a window with N queued.
        base = accepted_total

        def queued() -> int:
            return accepted_total - base

        async def window(label: str) -> dict[str, Any]:
            at = queued()
            phase = await send(steps["window"])
            memory.sample(label, accepted_total, queued(), await frames.collect())
            say(f"{label}: {phase['per_s']:.0f}/s accepted with {at:,} to {queued():,} queued")
            return {"queued_before": at, "queued_after": queued(), **phase}

        await send_until(steps["small_queue"], queued, "filling", queued)
        small = await window("rate with a small queue")
        await send_until(messages, queued, "filling", queued)
        large = await window(f"rate with {messages:,} queued")

        final = await workers.receivers({"op": "drain"}, within=None)
        drained_after = sum(int(r["drained"]) for r in final)
        drain_seconds = max(float(r["ended"]) for r in final) - min(float(r["started"]) for r in final)
        memory.sample("drained", accepted_total, queued() - drained_after, await frames.collect())
        missing = await frames.settle()
    finally:
        workers.stop()
    elapsed = time.time() - started
    rss = _growth(memory.samples, flow_samples=[s for s in memory.samples if s["stage"] in ("start", "flow")])
    queued_ratio = ratio(large["per_s"], small["per_s"])
    return {
        "soak": {
            "messages": messages,
            "size_bytes": size,
            "steps": steps,
            "seconds": elapsed,
            # The soak's work grows with N (two passes of N, one drain of N), so time scales by N.
            "estimated_seconds_for_a_million": elapsed / messages * MILLION,
            "accepted": accepted_total,
            "refused": refused,
            "flow": flow,
            "queued": {
                "small": small,
                "large": large,
                "ratio": queued_ratio,
                "drain": {
                    "messages": drained_after,
                    "seconds": drain_seconds,
                    "per_s": rate(drained_after, drain_seconds),
                },
            },
            "left_in_queues": accepted_total - drained_in_flow - drained_after,
            "message_available_missing": missing,
            "rss": rss,
            "samples": memory.samples,
            "targets": {
                "rss_growth_under_50mib_per_million": rss["growth_mib_per_million"] < TARGET_GROWTH_MIB,
                "queued_rate_at_least_two_thirds": queued_ratio >= TARGET_QUEUED_RATIO,
                "no_message_available_missing": missing == 0,
            },
        },
        "config": {
            "url": ",".join(server.urls),
            "started_server": config.url is None,
            "senders": config.senders,
            "receivers": config.receivers,
            "connections": config.connections,
        },
    }


def _growth(samples: list[dict[str, Any]], flow_samples: list[dict[str, Any]]) -> dict[str, Any]:
    """RSS growth of both processes over the flow stage, whole and after warm-up (the first tenth of the
    messages: connections, caches and thread pools), with the per-million figure the target speaks of (measured
    at a million, a straight line below that)."""
    names = [key for key in samples[0] if key.endswith("_mib")]
    first, last = flow_samples[0], flow_samples[-1]
    warm = next((s for s in flow_samples if s["accepted"] >= last["accepted"] / 10), first)
    growth = sum(last[n] - first[n] for n in names)
    after_warmup = sum(last[n] - warm[n] for n in names)
    messages_after_warmup = last["accepted"] - warm["accepted"]
    return {
        "start_mib": {n: first[n] for n in names},
        "end_of_flow_mib": {n: last[n] for n in names},
        "peak_mib": {n: max(s[n] for s in samples) for n in names},
        "growth_mib": growth,
        "growth_after_warmup_mib": after_warmup,
        "growth_mib_per_million": (
            after_warmup / messages_after_warmup * MILLION if messages_after_warmup else float("inf")
        ),
        "measured_over": messages_after_warmup,
    }
