"""JetStream streams the exchange keeps on file: created on first start, brought to the wanted config after."""

from __future__ import annotations

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
