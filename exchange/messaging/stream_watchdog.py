"""Healing a JetStream stream that keeps refusing writes after the disk under it was full.

nats-server's file store remembers a failed write and refuses every later one until the server restarts, so a
follower that publishes to that stream (the relay, the notifier) would stay stuck after space came back. The
watchdog restarts the embedded nats-server once such a follower has been stuck for a while and the disk has room
again; the supervisor starts it anew on the same store, and the exchange's connection reconnects by itself. An
external NATS is its operator's to run, so only the embedded one is restarted. A follower stuck for another
reason (a view it waits for, a database error) is not NATS's to heal: a restart would only drop every
connection, so the watchdog looks at why each one last failed.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path
from typing import Protocol

import nats.errors
import structlog

from exchange.kernel.tasks import Repeating
from exchange.messaging.streams import AcksOverdueError

log = structlog.get_logger(__name__)

# Seconds a publishing follower fails before the server is restarted: two of its retries at the longest backoff.
STUCK_FOR = 10.0
CHECK_EVERY = 5.0  # seconds
# Room the store needs before a restart can help: with less, nats-server would only fail the same write again.
ROOM_NEEDED = 64 * 1024 * 1024  # bytes


class RestartableServer(Protocol):
    directory: Path

    def restart(self) -> None: ...


def refused_by_jetstream(error: BaseException | None) -> bool:
    """Whether a publishing follower's failure came from NATS (a refusal, or acks that never came), the kind a
    restart of the server can heal."""
    return isinstance(error, nats.errors.Error | AcksOverdueError)


class StuckStreamWatchdog:
    def __init__(
        self,
        server: RestartableServer,
        failing: Callable[[], Awaitable[list[str]]],
        publishers: Collection[str],
        *,
        cause: Callable[[str], BaseException | None] | None = None,
        stuck_for: float = STUCK_FOR,
        every: float = CHECK_EVERY,
        room_needed: int = ROOM_NEEDED,
    ) -> None:
        self._server = server
        self._failing = failing
        self._publishers = frozenset(publishers)
        # Why a follower last failed, by name; without it every failure of a publisher counts.
        self._cause = cause
        self._stuck_for = stuck_for
        self._room_needed = room_needed
        self._stuck_since: float | None = None
        self._looking = Repeating(
            "stuck-stream-watchdog", self.check, every, log=log, failure="stuck_stream_watchdog_failed", wait_first=True
        )
        self.restarts = 0

    def start(self) -> None:
        self._looking.start()

    async def stop(self) -> None:
        await self._looking.stop()

    async def check(self) -> bool:
        """One look: restart the server if a publishing follower has been stuck long enough; whether it did."""
        stuck = {
            name
            for name in self._publishers.intersection(await self._failing())
            if self._cause is None or refused_by_jetstream(self._cause(name))
        }
        now = time.monotonic()
        if not stuck:
            self._stuck_since = None
            return False
        if self._stuck_since is None:
            self._stuck_since = now
        if now - self._stuck_since < self._stuck_for or not self._has_room():
            return False
        log.warning("jetstream_stream_stuck", followers=sorted(stuck), seconds=round(now - self._stuck_since, 1))
        await asyncio.to_thread(self._server.restart)
        self.restarts += 1
        self._stuck_since = None  # give the restarted server the same time again before another restart
        return True

    def _has_room(self) -> bool:
        return shutil.disk_usage(self._server.directory).free >= self._room_needed
