"""Admission on the delivery lag: a submission waits while the delivery path trails the log by more than a bound.

Saturated, the edge accepts faster than the path from the log to `messageAvailable` (relay, deliverer and gate,
notifier) delivers, and without a bound the backlog, and with it the time from a 200 to its `messageAvailable`,
grows for as long as the burst lasts. A submission that finds the path behind waits, after its checks and before
it takes its quota or joins a group commit, so waiting holds no lock, no quota and no CPU. If the path has not
caught up within the wait allowed, the submission goes on regardless: the wait slows the edge down to what the
path sustains, but never refuses what the event store could record. A path that stands still (a NATS node lost, a
follower's lease moving, the database restarting) so costs each submission the wait, not a refusal: accepting
into the event store through a fault is the exchange's promise, and the path catches up from the log afterwards.

The lag is measured in time, from state every process of the exchange shares, so it holds whichever process runs
the followers under their leases. Each stage of the path is a pair of positions, how far its work reaches and how
far it got: the log's last position against the slowest of the relay and the notifier (their positions recorded
in the views), and the routes stream's last sequence against the last route handed to the deliverer (JetStream's). A
stage's lag is how long ago this process first saw its work reach past where the stage is now (to within one
reading), and the path's lag is the sum of its stages' lags, since a message passes them one after the other. It is
read at most once per `REFRESH` however many requests ask, and only while requests ask.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import structlog

from exchange.eventstore.ledger import Ledger
from exchange.kernel.metrics import DELIVERY_PATH_LAG, LAG_WAIT_SECONDS, LAG_WAITS
from exchange.readmodels.views import ViewsConnection

log = structlog.get_logger(__name__)

# How old a reading may be before a request reads again: 10 readings a second per process, whatever the load.
REFRESH = 0.1  # seconds
# A stage that does not answer within this counts as not having moved (its lag keeps growing).
STAGE_TIMEOUT = 0.5  # seconds

# One stage of the delivery path: (how far its work reaches, how far it got), in positions of its own.
Stage = Callable[[], Awaitable[tuple[int, int]]]


def log_stage(ledger: Ledger, views: ViewsConnection, followers: Mapping[str, Sequence[str]]) -> Stage:
    """The log against the slowest of `followers` (name → the topics it handles), from their positions as recorded
    in the views: the holder of a follower's lease records them, so every process reads the same.

    A follower records its position only with events of its topics, so past the last of those its recorded position
    stays behind the log while it has nothing left to do: what it still has to do begins at the first event of its
    topics after that position.
    """

    def unfinished(recorded: Mapping[str, int]) -> tuple[int, int]:
        end = ledger.last_position()
        reached = end
        for name, topics in followers.items():
            first = ledger.notifications(recorded.get(name, 0), 1, topics)
            if first:
                reached = min(reached, first[0].id - 1)
        return end, reached

    async def read() -> tuple[int, int]:
        # The whole table: a row per follower of the log, a dozen or so.
        async with views.execute("SELECT name, position FROM tracking") as cursor:
            recorded = {row[0]: int(row[1]) for row in await cursor.fetchall()}
        return await asyncio.to_thread(unfinished, recorded)

    return read


class _Backlog:
    """When this process first saw a stage's work reach each position: enough to tell how long the oldest part the
    stage has not finished has waited."""

    def __init__(self) -> None:
        # (when, end) with `end` growing: one entry per reading that found more work.
        self._seen: deque[tuple[float, int]] = deque()

    def observe(self, when: float, end: int, reached: int) -> float:
        if self._seen and end < self._seen[-1][1]:
            self._seen.clear()  # the stage started over (a new stream): what was seen before no longer counts
        if not self._seen or end > self._seen[-1][1]:
            self._seen.append((when, end))
        while self._seen and self._seen[0][1] <= reached:
            self._seen.popleft()
        return self.age(when)

    def age(self, when: float) -> float:
        return when - self._seen[0][0] if self._seen else 0.0


class DeliveryLag:
    """How far the delivery path trails the work given to it, in seconds, read from shared state."""

    def __init__(
        self, stages: Sequence[Stage], *, refresh: float = REFRESH, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._stages = list(stages)
        self._backlogs = [_Backlog() for _ in self._stages]
        self.refresh = refresh
        self._now = now
        self._read_at = -refresh
        self._value = 0.0
        # The reading in progress: requests that arrive meanwhile share it instead of reading again.
        self._reading: asyncio.Task[float] | None = None

    async def current(self) -> float:
        """The lag as last read, read again first when that reading is older than `refresh`."""
        if self._reading is None and self._now() - self._read_at >= self.refresh:
            self._reading = asyncio.create_task(self._read(), name="delivery-lag")
        if self._reading is not None:
            # Shielded: a request that gives up must not cancel the reading the others wait for.
            return await asyncio.shield(self._reading)
        return self._value

    async def _read(self) -> float:
        try:
            total = 0.0
            for stage, backlog in zip(self._stages, self._backlogs, strict=True):
                try:
                    end, reached = await asyncio.wait_for(stage(), STAGE_TIMEOUT)
                except Exception as error:  # a stage that cannot be read has not been seen to move
                    log.debug("delivery_lag_unread", error=repr(error))
                    total += backlog.age(self._now())
                else:
                    total += backlog.observe(self._now(), end, reached)
            self._value = total
            self._read_at = self._now()
            DELIVERY_PATH_LAG.set(total)
            return total
        finally:
            self._reading = None


@dataclass(eq=False)
class LagAdmission:
    """Lets a submission on once the delivery lag is within `limit` seconds, or after `patience` seconds of waiting
    for it, whichever comes first; `limit` 0 lets every submission on at once."""

    lag: DeliveryLag
    limit: float = 0.0
    patience: float = 2.0
    # Submissions waiting now (for tests and the curious; /metrics counts the waits).
    waiting: int = 0

    async def admit(self) -> None:
        """Return once the delivery path is within the bound, or once the submission has waited `patience` seconds
        for it."""
        if self.limit <= 0:
            return
        lag = await self.lag.current()
        if lag <= self.limit:
            return
        started = time.monotonic()
        self.waiting += 1
        try:
            while lag > self.limit:
                left = started + self.patience - time.monotonic()
                if left <= 0:
                    _waited("waited_out", started)
                    return
                await asyncio.sleep(min(left, self.lag.refresh))
                lag = await self.lag.current()
        finally:
            self.waiting -= 1
        _waited("passed", started)


def _waited(outcome: str, started: float) -> None:
    LAG_WAITS.labels(outcome).inc()
    LAG_WAIT_SECONDS.observe(time.monotonic() - started)
