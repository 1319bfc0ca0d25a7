"""The raw JetStream baseline: one process publishing with `publish_async` and a bounded window into a stream
of its own on the exchange's nats-server, with the same payloads the exchange receives."""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

import nats
from nats.js.api import StorageType, StreamConfig

WINDOW = 256  # measured: 64 to 256 gives the best rate at low latency for one nats-py client


def nats_url_of(data_dir: Path) -> str | None:
    """The exchange's embedded nats-server address, from the `listen` line of DIR/nats/nats.conf."""
    try:
        text = (data_dir / "nats" / "nats.conf").read_text()
    except OSError:
        return None
    match = re.search(r'^\s*listen\s*:\s*"?([^"\s]+)"?', text, re.MULTILINE)
    if match is None:
        return None
    # The embedded server admits only its token (DIR/nats/nats.token); the bench runs as the exchange's user.
    try:
        token = (data_dir / "nats" / "nats.token").read_text().strip()
    except OSError:
        return f"nats://{match.group(1)}"
    return f"nats://{token}@{match.group(1)}"


async def publish_async_rate(
    url: str, payload: bytes, duration: float | None, messages: int | None, *, token: str | None = None
) -> dict[str, float]:
    """Publish `payload` until `duration` seconds or `messages` are acknowledged; the figures of the run.

    `url` may name a cluster's servers, comma-separated: the stream then has three replicas, as the exchange's do
    there, so that the baseline pays for the same replication."""
    servers = url.split(",")
    client = await nats.connect(servers, token=token)
    js = client.jetstream(publish_async_max_pending=WINDOW)
    name = f"BENCH_{secrets.token_hex(4).upper()}"
    subject = f"bench.{name.lower()}"
    replicas = 3 if len(servers) >= 3 else 1
    await js.add_stream(
        StreamConfig(name=name, subjects=[f"{subject}.>"], storage=StorageType.FILE, num_replicas=replicas)
    )
    try:
        started = time.time()
        deadline = started + duration if duration is not None else float("inf")
        budget = messages if messages is not None else 1 << 62
        sent = 0
        while sent < budget and time.time() < deadline:
            await js.publish_async(f"{subject}.m", payload)
            sent += 1
        await js.publish_async_completed()
        elapsed = time.time() - started
    finally:
        await js.delete_stream(name)
        await client.close()
    return {"messages": sent, "seconds": elapsed, "per_s": sent / elapsed if elapsed > 0 else 0.0, "window": WINDOW}
