"""JetStream streams the exchange keeps on file: created on first start, brought to the wanted config after."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig


async def ensure_file_stream(js: JetStreamContext, name: str, subject_prefix: str, max_age_seconds: float) -> None:
    """A file-backed stream of every subject under the prefix, with a one-hour window for `Nats-Msg-Id` dedupe."""
    config = StreamConfig(
        name=name,
        subjects=[f"{subject_prefix}.>"],
        storage=StorageType.FILE,
        max_age=max_age_seconds,
        duplicate_window=3600,
    )
    try:
        await js.add_stream(config)
    except nats.js.errors.BadRequestError:
        await js.update_stream(config)


ACK_TIMEOUT = 5.0  # seconds; JetStream acks within milliseconds when it works


async def acknowledged(acks: Sequence[asyncio.Future[Any]], within: float = ACK_TIMEOUT) -> None:
    """Wait for the acks of `publish_async`, or raise TimeoutError and give up those still pending.

    nats-py never times an ack out. A JetStream that stopped storing (a full disk disables it) would keep its
    publisher waiting for ever, and the notifier waits inside its views transaction, locking every other
    follower out of the file. Cancelled, a pending ack also frees its place among the pending publishes.
    """
    if not acks:
        return
    done, pending = await asyncio.wait(acks, timeout=within)
    for future in pending:
        future.cancel()
    for future in done:
        future.result()  # a negative ack raises here
    if pending:
        raise TimeoutError(f"JetStream acknowledged {len(done)} of {len(acks)} messages within {within}s")
