"""The benchmark's worker processes: senders (pre-signed BPQD over raw keep-alive HTTP, bounded concurrency)
and receivers (LNSPs holding WebSockets for `messageAvailable`, and draining with list + get + delete).

Each worker runs its own event loop and obeys commands from the parent on an inbox queue, answering on an
outbox queue. Times are `time.time()` so that figures of different processes on one machine can be joined.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import secrets
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized
from typing import Any

import uvloop
import websockets
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from certs.signature import sign_detached
from simulators.payloads import bpqd_body, shape_for_size
from simulators.rawhttp import RawConnection

Command = dict[str, Any]


@dataclass(frozen=True)
class SenderSpec:
    base_url: str
    participant_id: str
    token: str
    key_pem: bytes
    certificate_pem: bytes
    recipients: list[str]
    connections: int


@dataclass(frozen=True)
class ReceiverSpec:
    base_url: str
    lnsps: list[tuple[str, str]]  # (participant id, token)
    connections: int


@dataclass(frozen=True)
class Prepared:
    body: bytes  # gzip-encoded, as sent
    headers: dict[str, str]  # everything but the messageContextId
    body_bytes: int  # uncompressed


async def _commands(inbox: Queue[Command]) -> Command:
    return await asyncio.get_running_loop().run_in_executor(None, inbox.get)


# ------------------------------------------------------------------------------------------------------ senders


def run_worker(main: Callable[..., Coroutine[Any, Any, None]], *args: Any) -> None:
    """A worker process's entry point (the target of its `Process`): the coroutine `main(*args)` on uvloop."""
    uvloop.run(main(*args))


async def sender(spec: SenderSpec, inbox: Queue[Command], outbox: Queue[Command]) -> None:
    key = serialization.load_pem_private_key(spec.key_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    certificate = x509.load_pem_x509_certificate(spec.certificate_pem)
    pool: list[Prepared] = []
    while True:
        command = await _commands(inbox)
        try:
            if command["op"] == "prepare":
                pool = _prepare(spec, key, certificate, int(command["size"]), int(command["pool"]))
                outbox.put({"op": "prepared", "body_bytes": [p.body_bytes for p in pool],
                            "wire_bytes": [len(p.body) for p in pool]})  # fmt: skip
            elif command["op"] == "run":
                outbox.put(await _run(spec, pool, command))
            else:
                return
        except Exception as error:  # the parent must hear of it rather than wait for an answer
            outbox.put({"op": "error", "error": f"sender {spec.participant_id}: {error!r}"})


def _prepare(
    spec: SenderSpec, key: rsa.RSAPrivateKey, certificate: x509.Certificate, size: int, count: int
) -> list[Prepared]:
    """Signed, gzip-encoded bodies made before the timed window; each run sends them in turn, with fresh
    messageContextIds (the exchange keys idempotency on those, so a repeated body is a new message)."""
    shape = shape_for_size(size, spec.participant_id, spec.recipients[0])
    pool = []
    for index in range(count):
        recipient = spec.recipients[index % len(spec.recipients)]
        body = bpqd_body(spec.participant_id, [recipient], priority="High", shape=shape, seed=secrets.randbits(30))
        headers = {
            "Authorization": f"Bearer {spec.token}",
            "x-initiatingParticipantId": spec.participant_id,
            "x-signature": sign_detached(body, certificate, key),
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        }
        pool.append(Prepared(gzip.compress(body, compresslevel=6), headers, len(body)))
    return pool


async def _run(spec: SenderSpec, pool: list[Prepared], command: Command) -> Command:
    """Send until the deadline or the message budget is spent; at most `rate` a second when given."""
    base_url, path = str(command["url"]), str(command["path"])
    start_at, duration = float(command["start_at"]), command.get("duration")
    budget, rate = command.get("messages"), command.get("rate")
    deadline = start_at + float(duration) if duration is not None else float("inf")
    taken = 0
    records: list[tuple[str, float, float]] = []
    statuses: Counter[int] = Counter()
    prefix = f"pqd~bpqd~h~{spec.participant_id}~{secrets.token_hex(4)}"

    async def one_connection() -> None:
        nonlocal taken
        connection = RawConnection(base_url)
        try:
            while True:
                index = taken
                if budget is not None and index >= int(budget):
                    return
                taken += 1
                if rate:
                    await asyncio.sleep(max(0.0, start_at + index / float(rate) - time.time()))
                if time.time() >= deadline:
                    return
                prepared = pool[index % len(pool)]
                context_id = f"{prefix}{index:08x}"
                headers = {**prepared.headers, "x-messageContextId": context_id}
                sent = time.time()
                try:
                    response = await connection.request("POST", path, headers, prepared.body)
                except OSError:
                    statuses[0] += 1
                    await asyncio.sleep(0.05)
                    continue
                statuses[response.status] += 1
                if response.status == 200:
                    records.append((context_id, sent, time.time()))
        finally:
            await connection.close()

    await asyncio.sleep(max(0.0, start_at - time.time()))
    await asyncio.gather(*(one_connection() for _ in range(spec.connections)))
    last = max((done for _, _, done in records), default=start_at)
    return {"op": "ran", "records": records, "statuses": dict(statuses), "started": start_at, "ended": last}


# ---------------------------------------------------------------------------------------------------- receivers


async def receiver(
    spec: ReceiverSpec,
    inbox: Queue[Command],
    outbox: Queue[Command],
    seen: Synchronized[int],
    drained: Synchronized[int],
) -> None:
    """`seen` counts messageAvailable frames and `drained` the messages taken off the queues, for the parent to
    read while this process is busy (a soak's queue depth during the flow)."""
    frames: dict[str, float] = {}
    ws_base = spec.base_url.replace("http://", "ws://") + "/idx/v1/events?since=0"

    async def listen(token: str, ready: asyncio.Event) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with websockets.connect(ws_base, additional_headers=headers, max_size=None) as socket:
            ready.set()
            async for message in socket:
                arrived = time.time()
                frame = json.loads(message)
                if frame.get("eventType") == "messageAvailable":
                    frames[frame["messageContextId"]] = arrived
                    seen.value += 1

    readies = [asyncio.Event() for _ in spec.lnsps]
    listeners = [
        asyncio.create_task(listen(token, ready)) for (_, token), ready in zip(spec.lnsps, readies, strict=True)
    ]
    await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), 30)
    outbox.put({"op": "listening"})
    draining: asyncio.Task[Command] | None = None
    stop_draining = asyncio.Event()
    try:
        while True:
            command = await _commands(inbox)
            try:
                if command["op"] == "frames":
                    outbox.put({"op": "frames", "frames": dict(frames)})
                    frames.clear()
                elif command["op"] == "drain":
                    outbox.put(await _drain_all(spec, drained))
                elif command["op"] == "drain_on":
                    stop_draining.clear()
                    draining = asyncio.create_task(_keep_draining(spec, stop_draining, drained))
                    outbox.put({"op": "draining"})
                elif command["op"] == "drain_off":
                    stop_draining.set()
                    outbox.put(await draining if draining else await _drain_all(spec, drained))
                    draining = None
                else:
                    return
            except Exception as error:  # the parent must hear of it rather than wait for an answer
                outbox.put({"op": "error", "error": f"receiver: {error!r}"})
    finally:
        for task in [*listeners, *([draining] if draining else [])]:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)


async def _keep_draining(spec: ReceiverSpec, stop: asyncio.Event, counter: Synchronized[int]) -> Command:
    """Drain while the senders send (a soak's LNSPs): empty the queues, look again a moment later, until told to
    stop; then empty them once more, so that nothing the senders sent before the stop is left behind."""
    started, drained = time.time(), 0
    while True:
        stopping = stop.is_set()
        result = await _drain_all(spec, counter)
        drained += int(result["drained"])
        if stopping:
            return {"op": "drained", "drained": drained, "started": started, "ended": time.time()}
        if not result["drained"]:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)


async def _drain_all(spec: ReceiverSpec, counter: Synchronized[int]) -> Command:
    started = time.time()
    results = await asyncio.gather(*(_drain(spec, token, counter) for _, token in spec.lnsps))
    drained = sum(count for count, _ in results)
    last = max((ended for _, ended in results), default=started)
    return {"op": "drained", "drained": drained, "started": started, "ended": last}


async def _drain(spec: ReceiverSpec, token: str, counter: Synchronized[int]) -> tuple[int, float]:
    """List a page, get and delete each item over `connections` keep-alive connections; until a page is empty."""
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"}
    connections = [RawConnection(spec.base_url) for _ in range(spec.connections)]
    drained, ended = 0, time.time()
    try:
        while True:
            page = await connections[0].request("GET", "/pqd/v1/bpqd?itemCount=500", headers)
            items = json.loads(page.body)["data"] if page.status == 200 else []
            if not items:
                return drained, ended
            ids: asyncio.Queue[str] = asyncio.Queue()
            for item in items:
                ids.put_nowait(item["messageContextId"])

            async def worker(connection: RawConnection, ids: asyncio.Queue[str] = ids) -> int:
                done = 0
                while not ids.empty():
                    context_id = ids.get_nowait()
                    got = await connection.request("GET", f"/pqd/v1/bpqd/{context_id}", headers)
                    gone = await connection.request("DELETE", f"/pqd/v1/bpqd/{context_id}", headers)
                    if got.status == 200 and gone.status == 204:
                        done += 1
                return done

            done = sum(await asyncio.gather(*(worker(c) for c in connections)))
            if done == 0:
                return drained, ended  # the page is there but nothing on it can be taken: stop, don't spin
            drained += done
            counter.value += done
            ended = time.time()
    finally:
        for connection in connections:
            with contextlib.suppress(Exception):
                await connection.close()
