"""`idx bench`: sets up the exchange (its own by default) and the participants, runs the timed phases with
sender and receiver processes, the two baselines in the same run, and reports the figures and their ratios."""

from __future__ import annotations

import asyncio
import gzip
import multiprocessing
import os
import platform
import queue
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
from cryptography.hazmat.primitives import serialization

from exchange.kernel.network import free_port
from simulators.bench.jetstream import nats_url_of, publish_async_rate
from simulators.bench.rss import cpu_seconds, listener_pid, memory_kib, pid_from_file, process_tree
from simulators.bench.workers import Command, ReceiverSpec, SenderSpec, receiver, run_worker, sender
from simulators.client import ParticipantClient, operator_client, register
from simulators.figures import format_size, percentile, rate, ratio, split_evenly
from simulators.payloads import bpqd_body, shape_for_size

SENDER_SCOPES = ["PQD_BPQD", "TLS_CERTIFICATE_MANAGEMENT"]
RECEIVER_SCOPES = ["PQD_BPQD", "EVENT_NOTIFY", "FCTRL_STATUS"]
HUGE_QUOTA = "1000000000,1000000000,1000000000"
FRAMES_WAIT = 15.0  # seconds to wait for the last messageAvailable frames after a phase
SERVER_PROCESSES = ("idx_serve", "nats_server")
# Why a CPU figure is missing, instead of a figure that would be wrong.
NO_PID = {
    "idx_serve": "pid of idx serve not known: give --server-pid with --url",
    "nats_server": "pid of nats-server not known: give --data-dir with --url",
}

# The targets (issue 15), at one size, against the do-nothing POST of the same run.
TARGET_RATIO = 0.2
LONGER_TERM_RATIO = 0.5
TARGET_P99_HALF_RATE_MS = 100.0
TARGET_P99_SATURATED_MS = 1000.0


@dataclass
class BenchConfig:
    url: str | None = None
    # With --url naming several processes of one exchange: each of them; senders and receivers are spread over them.
    urls: list[str] = field(default_factory=list)
    # The NATS of an exchange started elsewhere with --nats-url (a cluster, say), for the raw JetStream baseline.
    nats_url: str | None = None
    nats_token: str | None = None
    data_dir: Path | None = None
    operator_secret: str | None = None
    server_pid: int | None = None
    senders: int = 2
    receivers: int = 2
    connections: int = 16
    sizes: list[int] = field(default_factory=lambda: [1024])
    duration: float = 10.0
    messages: int | None = None
    keep: bool = False
    # Worker processes of the exchange the bench starts (`idx serve --workers N`).
    workers: int = 1


class Log:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.started = time.monotonic()

    def __call__(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {text}", file=self.stream, flush=True)


def run_bench(config: BenchConfig, log: IO[str]) -> dict[str, Any]:
    say = Log(log)
    with ExitStack() as stack:
        server = stack.enter_context(BenchServer(config, say))
        nothing = stack.enter_context(_DoNothing(say))
        return asyncio.run(_bench(config, server, nothing, say))
    raise AssertionError("unreachable")


class BenchServer:
    """The exchange under test: started on a temporary directory (default) or the one at --url."""

    def __init__(self, config: BenchConfig, say: Log) -> None:
        self.config = config
        self.say = say
        self.process: subprocess.Popen[bytes] | None = None
        self.tmp: Path | None = None
        self.url = config.url or ""
        self.urls = config.urls or [self.url]
        self.data_dir = config.data_dir
        self.secret = config.operator_secret or ""

    def __enter__(self) -> BenchServer:
        if self.config.url:
            return self
        self.tmp = Path(tempfile.mkdtemp(prefix="idx-bench-"))
        self.data_dir = self.tmp / "data"
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.urls = [self.url]
        idx = Path(sys.executable).parent / "idx"
        args = [str(idx), "serve", "--data-dir", str(self.data_dir), "--port", str(port), "--rate-limit", "0",
                "--daily-quota", HUGE_QUOTA, "--workers", str(self.config.workers)]  # fmt: skip
        self.say(f"starting {' '.join(args[1:])}")
        with (self.tmp / "serve.log").open("wb") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        _wait_healthy(self.url, self.process, 60.0 * self.config.workers)
        self.secret = (self.data_dir / "operator.secret").read_text().strip()
        return self

    def pids(self) -> dict[str, int]:
        found: dict[str, int] = {}
        serve = self.process.pid if self.process else self.config.server_pid
        if serve is None and self.url:
            serve = listener_pid(int(self.url.rsplit(":", 1)[1].split("/")[0]))
        if serve is not None:
            found["idx_serve"] = serve
        if self.data_dir is not None and (nats := pid_from_file(self.data_dir / "nats" / "nats.pid")) is not None:
            found["nats_server"] = nats
        return found

    def other_serves(self) -> list[int]:
        """The processes listening at the further --url addresses, whose CPU counts as idx serve's too."""
        found = (listener_pid(int(url.rsplit(":", 1)[1].split("/")[0])) for url in self.urls[1:])
        return [pid for pid in found if pid is not None]

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.tmp is not None:
            if self.config.keep:
                self.say(f"kept {self.tmp}")
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)


class _DoNothing:
    """The do-nothing POST server (same stack, no exchange work) in a subprocess of its own."""

    def __init__(self, say: Log) -> None:
        self.say = say
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> _DoNothing:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "simulators.bench.nothing", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_healthy(self.url, self.process, 30.0)
        return self

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            self.process.terminate()
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {process.returncode}")
        with suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not become healthy within {timeout}s")


# ------------------------------------------------------------------------------------------------------ set-up


@dataclass
class _Cast:
    senders: list[SenderSpec]
    receivers: list[ReceiverSpec]


async def cast_participants(config: BenchConfig, urls: Sequence[str], secret: str, say: Log) -> _Cast:
    """Senders and LNSPs registered through the first URL; each works through one of `urls` in turn."""
    url = urls[0]
    operator = await operator_client(url, secret)
    clients: list[ParticipantClient] = []
    run = os.urandom(2).hex().upper()
    try:
        lnsps: list[tuple[str, str]] = []
        for index in range(config.receivers):
            participant_id = f"BL{run}{index:02d}"[:10]
            client = ParticipantClient(url, await register(operator, participant_id, ["LNSP"], RECEIVER_SCOPES))
            clients.append(client)
            lnsps.append((participant_id, await client.login()))
            # The highest watermarks the exchange takes, far above what a run queues, so flow control never holds
            # the benchmark's messages.
            response = await operator.http.put(
                f"/admin/v1/participants/{participant_id}/flowcontrol/pqd",
                json={"low": 9_999_998, "warn": 9_999_999, "high": 10_000_000},
                headers=operator.headers(),
            )
            response.raise_for_status()
        senders = []
        for index in range(config.senders):
            participant_id = f"BM{run}{index:02d}"[:10]
            client = ParticipantClient(url, await register(operator, participant_id, ["MC"], SENDER_SCOPES))
            clients.append(client)
            token = await client.login()
            await client.enrol()
            assert client.key is not None and client.certificate is not None
            key_pem = client.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            certificate_pem = client.certificate.public_bytes(serialization.Encoding.PEM)
            # Each sender spreads its messages over every LNSP.
            recipients = [lnsp for lnsp, _ in lnsps[index:] + lnsps[:index]]
            senders.append(SenderSpec(urls[index % len(urls)], participant_id, token, key_pem, certificate_pem,
                                      recipients, config.connections))  # fmt: skip
        receivers = [ReceiverSpec(urls[i % len(urls)], [lnsp], config.connections) for i, lnsp in enumerate(lnsps)]
        say(f"{config.senders} senders and {config.receivers} LNSPs registered and enrolled")
        return _Cast(senders, receivers)
    finally:
        for client in clients:
            await client.close()
        await operator.close()


class Workers:
    """The sender and receiver processes and their command queues. Senders and receivers answer on queues of
    their own, so that a soak can talk to the receivers (drain on/off, frames) while the senders are busy."""

    def __init__(self, cast: _Cast) -> None:
        context = multiprocessing.get_context("spawn")
        self.sender_outbox: Any = context.Queue()
        self.receiver_outbox: Any = context.Queue()
        self.sender_inboxes: list[Any] = []
        self.receiver_inboxes: list[Any] = []
        self.seen: list[Any] = []
        self.drained: list[Any] = []
        self.processes: list[Any] = []
        for spec in cast.senders:
            inbox = context.Queue()
            self.sender_inboxes.append(inbox)
            process = context.Process(target=run_worker, args=(sender, spec, inbox, self.sender_outbox), daemon=True)
            self.processes.append(process)
        for receiver_spec in cast.receivers:
            inbox, seen, drained = context.Queue(), context.Value("q", 0, lock=False), context.Value("q", 0, lock=False)
            self.receiver_inboxes.append(inbox)
            self.seen.append(seen)
            self.drained.append(drained)
            process = context.Process(
                target=run_worker,
                args=(receiver, receiver_spec, inbox, self.receiver_outbox, seen, drained),
                daemon=True,
            )
            self.processes.append(process)
        for process in self.processes:
            process.start()

    async def _replies(self, outbox: Any, count: int, within: float | None) -> list[Command]:
        """One answer per worker asked; RuntimeError when a worker failed or died, or when `within` seconds
        passed (None: no limit, for a soak's drain of a million messages, which takes over an hour)."""
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + within if within is not None else float("inf")
        answers: list[Command] = []
        while len(answers) < count:
            try:
                answer: Command = await loop.run_in_executor(None, outbox.get, True, 10.0)
            except queue.Empty:
                dead = [p.pid for p in self.processes if not p.is_alive()]
                if dead:
                    raise RuntimeError(f"a worker process exited before it answered (pids {dead})") from None
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no answer from the workers within {within}s") from None
                continue
            if answer.get("op") == "error":
                raise RuntimeError(answer["error"])
            answers.append(answer)
        return answers

    async def listening(self) -> None:
        """Every receiver's WebSockets are open."""
        await self._replies(self.receiver_outbox, len(self.receiver_inboxes), 60.0)

    async def sender_replies(self) -> list[Command]:
        return await self._replies(self.sender_outbox, len(self.sender_inboxes), 600.0)

    async def senders(self, command: Command) -> list[Command]:
        for inbox in self.sender_inboxes:
            inbox.put(command)
        return await self.sender_replies()

    async def receivers(self, command: Command, within: float | None = 600.0) -> list[Command]:
        for inbox in self.receiver_inboxes:
            inbox.put(command)
        return await self._replies(self.receiver_outbox, len(self.receiver_inboxes), within)

    def frames_seen(self) -> int:
        return sum(int(value.value) for value in self.seen)

    def drained_so_far(self) -> int:
        """Messages the receivers have taken off their queues since they started."""
        return sum(int(value.value) for value in self.drained)

    def stop(self) -> None:
        for inbox in self.sender_inboxes + self.receiver_inboxes:
            inbox.put({"op": "stop"})
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()


class CpuMeter:
    """CPU seconds (user + system, from /proc/<pid>/stat) of idx serve, with any worker processes it runs (and the
    further processes of one exchange, `other_serves`), and of its nats-server; read before and after a phase and
    divided by the messages the phase accepted."""

    def __init__(self, pids: dict[str, int], other_serves: list[int] | None = None) -> None:
        self.pids = pids
        self.other_serves = other_serves or []

    def read(self) -> dict[str, float]:
        nats = self.pids.get("nats_server")
        used: dict[str, float] = {}
        for name, pid in self.pids.items():
            if name == "idx_serve":
                skip = {nats} if nats is not None else set()
                tree = [member for serve in [pid, *self.other_serves] for member in process_tree(serve, skip)]
            else:
                tree = [pid]
            used[name] = sum(cpu_seconds(member) or 0.0 for member in tree)
        return used

    def per_message(self, before: dict[str, float], messages: int) -> dict[str, Any]:
        after = self.read()
        figures: dict[str, Any] = {}
        for name in SERVER_PROCESSES:
            if name not in before or name not in after:
                figures[name] = {"unknown": NO_PID[name]}
                continue
            seconds = after[name] - before[name]
            figures[name] = {"seconds": seconds, "ms_per_message": seconds / messages * 1000 if messages else 0.0}
        return figures


# ------------------------------------------------------------------------------------------------------ phases


async def _bench(config: BenchConfig, server: BenchServer, nothing: _DoNothing, say: Log) -> dict[str, Any]:
    cast = await cast_participants(config, server.urls, server.secret, say)
    pids = server.pids()
    memory_start = _memory(pids)
    workers = Workers(cast)
    accepted_total = 0
    results: list[dict[str, Any]] = []
    try:
        await workers.listening()
        for size in config.sizes:
            result = await _one_size(config, server, nothing, workers, CpuMeter(pids, server.other_serves()), size, say)
            accepted_total += int(result["exchange"]["accepted"]) + int(result["exchange"]["half_rate"]["accepted"])
            results.append(result)
    finally:
        workers.stop()
    memory_end = _memory(pids)
    return {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "config": {
            **asdict(config),
            "data_dir": str(config.data_dir) if config.data_dir else None,
            "operator_secret": None,
            "nats_token": None,
            "url": ",".join(server.urls),
            "started_server": config.url is None,
        },
        "results": results,
        "rss": _rss(pids, memory_start, memory_end, accepted_total),
    }


def _memory(pids: dict[str, int]) -> dict[str, dict[str, int]]:
    """VmRSS and VmHWM in KiB of each measured process; idx serve's summed over it and the processes it started
    (workers, signing processes) but its nats-server, which is measured on its own."""
    nats = pids.get("nats_server")
    figures = {}
    for name, pid in pids.items():
        tree = process_tree(pid, {nats} if nats is not None else set()) if name == "idx_serve" else [pid]
        members = [memory_kib(member) for member in tree]
        figures[name] = {key: sum(member.get(key, 0) for member in members) for key in ("VmRSS", "VmHWM")}
    return figures


def _rss(
    pids: dict[str, int], start: dict[str, dict[str, int]], end: dict[str, dict[str, int]], accepted: int
) -> dict[str, Any]:
    processes = {
        name: {
            "pid": pid,
            "start_mib": start[name].get("VmRSS", 0) / 1024,
            "end_mib": end[name].get("VmRSS", 0) / 1024,
            "peak_mib": end[name].get("VmHWM", 0) / 1024,
        }
        for name, pid in pids.items()
    }
    peak = sum(p["peak_mib"] for p in processes.values())
    growth = sum(p["end_mib"] - p["start_mib"] for p in processes.values())
    return {
        "processes": processes,
        "peak_mib": peak,
        "growth_mib": growth,
        "messages_accepted": accepted,
        # A straight-line extrapolation of this run's growth, for the "< 50 MB per million" target.
        "growth_mib_per_million_extrapolated": growth / accepted * 1e6 if accepted else 0.0,
    }


async def _one_size(
    config: BenchConfig, server: BenchServer, nothing: _DoNothing, workers: Workers, meter: CpuMeter, size: int,
    say: Log,
) -> dict[str, Any]:  # fmt: skip
    label = format_size(size)
    pool = max(4, min(64, (32 << 20) // max(size, 1) // max(config.senders, 1)))
    prepared = await workers.senders({"op": "prepare", "size": size, "pool": pool})
    body_bytes = [b for reply in prepared for b in reply["body_bytes"]]
    wire_bytes = [b for reply in prepared for b in reply["wire_bytes"]]
    say(f"{label}: {len(body_bytes)} bodies signed in advance, ~{sum(body_bytes) // len(body_bytes)} B "
        f"(~{sum(wire_bytes) // len(wire_bytes)} B gzip)")  # fmt: skip

    # CPU is counted from the first request until the phase's last messageAvailable arrived (or time was up),
    # so that the delivery work a burst leaves behind counts against the messages that caused it.
    before = meter.read()
    saturated = await send_phase(config, workers, server.urls, None)
    say(f"{label}: exchange accepted {saturated['accepted']} in {saturated['seconds']:.1f}s "
        f"= {saturated['per_s']:.0f}/s; refused {saturated['refused']}")  # fmt: skip
    latency_saturated = await _latency(workers, saturated)
    saturated["cpu"] = meter.per_message(before, saturated["accepted"])
    say(f"{label}: CPU per accepted message: {_cpu_text(saturated['cpu'])}")

    before = meter.read()
    drained = await workers.receivers({"op": "drain"})
    drain_count = sum(int(r["drained"]) for r in drained)
    drain_seconds = max(float(r["ended"]) for r in drained) - min(float(r["started"]) for r in drained)
    drain: dict[str, Any] = {"messages": drain_count, "seconds": drain_seconds,
                             "per_s": rate(drain_count, drain_seconds),
                             "cpu": meter.per_message(before, drain_count)}  # fmt: skip
    say(f"{label}: LNSPs drained {drain_count} (list + get + delete) at {drain['per_s']:.0f}/s")

    half = max(1.0, saturated["per_s"] / 2)
    before = meter.read()
    paced = await send_phase(config, workers, server.urls, half)
    latency_half = await _latency(workers, paced)
    paced["cpu"] = meter.per_message(before, paced["accepted"])
    say(f"{label}: at {half:.0f}/s submit → messageAvailable p50 {latency_half['p50_ms']:.1f} ms, "
        f"p99 {latency_half['p99_ms']:.1f} ms")  # fmt: skip
    await workers.receivers({"op": "drain"})

    baseline = await send_phase(config, workers, [nothing.url], None)
    say(f"{label}: do-nothing POST {baseline['per_s']:.0f}/s")
    jetstream = await _jetstream(config, server, size, say, label)
    versus_nothing = ratio(saturated["per_s"], baseline["per_s"])
    missing = latency_saturated["missing"] + latency_half["missing"]
    return {
        "size": label,
        "size_bytes": size,
        "body_bytes": sum(body_bytes) // len(body_bytes),
        "wire_bytes": sum(wire_bytes) // len(wire_bytes),
        "exchange": {
            **saturated,
            "latency_saturated": latency_saturated,
            "half_rate": {**paced, "target_per_s": half, "latency": latency_half},
            "drain": drain,
        },
        "baselines": {"do_nothing_post": baseline, "jetstream_publish_async": jetstream},
        "ratios": {
            "exchange_vs_do_nothing_post": versus_nothing,
            "exchange_vs_jetstream": ratio(saturated["per_s"], jetstream["per_s"]),
            "drain_vs_accepted": ratio(drain["per_s"], saturated["per_s"]),
        },
        "targets": {
            "accepted_at_least_0_2_of_do_nothing": versus_nothing >= TARGET_RATIO,
            "accepted_at_least_0_5_of_do_nothing_longer_term": versus_nothing >= LONGER_TERM_RATIO,
            "p99_under_100ms_at_half_rate": 0 <= latency_half["p99_ms"] < TARGET_P99_HALF_RATE_MS,
            "p99_under_1s_saturated": 0 <= latency_saturated["p99_ms"] < TARGET_P99_SATURATED_MS,
            "drain_at_least_accepted": drain["per_s"] >= saturated["per_s"],
            "no_message_available_missing": missing == 0,
        },
    }


def _cpu_text(figures: dict[str, Any]) -> str:
    return ", ".join(
        f"{name} {f['ms_per_message']:.2f} ms" if "unknown" not in f else f"{name}: {f['unknown']}"
        for name, f in figures.items()
    )


async def send_phase(
    config: BenchConfig, workers: Workers, urls: Sequence[str], total_rate: float | None, messages: int | None = None
) -> dict[str, Any]:
    """Every sender process sends for the duration (or its share of the messages: `messages`, else the config's),
    the senders spread over `urls` in turn; figures over all of them."""
    count = len(workers.sender_inboxes)
    messages = messages if messages is not None else config.messages
    budgets = split_evenly(messages, count) if messages is not None else [None] * count
    rates = [total_rate / count if total_rate else None] * count
    start_at = time.time() + 0.5
    for index, (inbox, budget, share) in enumerate(zip(workers.sender_inboxes, budgets, rates, strict=True)):
        duration = None if messages is not None else config.duration
        command = {
            "op": "run",
            "url": urls[index % len(urls)],
            "path": "/pqd/v1/bpqd",
            "start_at": start_at,
            "duration": duration,
        }
        inbox.put({**command, "messages": budget, "rate": share})
    replies = await workers.sender_replies()
    records = [record for reply in replies for record in reply["records"]]
    refused: dict[str, int] = {}
    for reply in replies:
        for status, number in reply["statuses"].items():
            if int(status) != 200:
                refused[str(status)] = refused.get(str(status), 0) + int(number)
    ended = max(float(reply["ended"]) for reply in replies)
    seconds = max(ended - start_at, 1e-9)
    return {"accepted": len(records), "seconds": seconds, "per_s": rate(len(records), seconds),
            "refused": refused, "records": records}  # fmt: skip


async def _latency(workers: Workers, phase: dict[str, Any]) -> dict[str, Any]:
    """Submit → messageAvailable for the phase's accepted messages, once their frames arrived (or time is up)."""
    records: list[tuple[str, float, float]] = phase.pop("records")
    deadline = time.monotonic() + FRAMES_WAIT
    while workers.frames_seen() < len(records) and time.monotonic() < deadline:  # noqa: ASYNC110 (other processes)
        await asyncio.sleep(0.1)
    frames: dict[str, float] = {}
    for reply in await workers.receivers({"op": "frames"}):
        frames.update(reply["frames"])
    for seen in workers.seen:
        seen.value = 0
    latencies = [(frames[c] - sent) * 1000 for c, sent, _ in records if c in frames]
    accept = [(done - sent) * 1000 for _, sent, done in records]
    return {
        "matched": len(latencies),
        "missing": len(records) - len(latencies),
        "p50_ms": percentile(latencies, 0.5) if latencies else -1.0,
        "p99_ms": percentile(latencies, 0.99) if latencies else -1.0,
        "submit_p50_ms": percentile(accept, 0.5) if accept else -1.0,
        "submit_p99_ms": percentile(accept, 0.99) if accept else -1.0,
    }


async def _jetstream(config: BenchConfig, server: BenchServer, size: int, say: Log, label: str) -> dict[str, Any]:
    """Raw JetStream from this process, with a body like the exchange's (gzip-encoded, as it arrives)."""
    url = config.nats_url or (nats_url_of(server.data_dir) if server.data_dir is not None else None)
    if url is None:
        say("no nats-server address (give --data-dir or --nats-url with --url): JetStream baseline not run")
        return {"messages": 0, "seconds": 0.0, "per_s": 0.0, "window": 0}
    shape = shape_for_size(size, "BM0000000", "BL0000000")
    payload = gzip.compress(bpqd_body("BM0000000", ["BL0000000"], priority="High", shape=shape), compresslevel=6)
    figures = await publish_async_rate(
        url, payload, None if config.messages else config.duration, config.messages, token=config.nats_token
    )
    say(f"{label}: raw JetStream publish_async {figures['per_s']:.0f}/s")
    return figures
