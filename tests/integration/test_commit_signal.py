"""A commit of one process wakes the followers of another through NATS, not at their fallback poll."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import nats
import pytest

from exchange.messaging.commit_signal import SUBJECT, CommitSignal
from exchange.messaging.natsserver import EmbeddedNatsServer


@pytest.fixture
async def nats_url(tmp_path: Path) -> AsyncIterator[str]:
    server = EmbeddedNatsServer(tmp_path / "nats")
    await asyncio.to_thread(server.start)
    try:
        yield server.url
    finally:
        await asyncio.to_thread(server.stop)


async def test_a_commit_of_one_process_wakes_the_other_and_not_itself(nats_url: str) -> None:
    """Two processes' signals on connections of their own: A's commit wakes B's followers, and not A's own (its
    group commit woke them already)."""
    connections = [await nats.connect(nats_url) for _ in range(2)]
    wakes = {"A": 0, "B": 0}
    woken = {"A": asyncio.Event(), "B": asyncio.Event()}

    def waker(name: str) -> Callable[[], None]:
        def wake() -> None:
            wakes[name] += 1
            woken[name].set()

        return wake

    signals = {name: CommitSignal(nc, waker(name)) for name, nc in zip(("A", "B"), connections, strict=True)}
    for signal in signals.values():
        await signal.start()
    try:
        signals["A"].committed()
        await asyncio.wait_for(woken["B"].wait(), timeout=5)
        # A marker from A's own connection reaches A after A's own announcement: once A wakes, it has heard both.
        await connections[0].publish(SUBJECT, b"another process")
        await asyncio.wait_for(woken["A"].wait(), timeout=5)
        assert wakes["A"] == 1, "A was woken by its own announcement"
    finally:
        for signal in signals.values():
            await signal.stop()
        for connection in connections:
            await connection.close()
