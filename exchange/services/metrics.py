"""What a scrape of /metrics reads at that moment: queue depths from the queue view, the followers' positions and
the event store's. Counters and histograms are updated where things happen instead (exchange.kernel.metrics).

Prometheus keeps the series over time for whoever scrapes it; the operator's dashboard needs them too on a closed
network with no Prometheus, so the sampler also keeps a ring of its own samples (one every `SAMPLE_SECONDS`, for
the last `KEPT_SAMPLES`), in memory: a restart starts the ring afresh.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from exchange.eventstore.ledger import Ledger
from exchange.kernel.clock import Clock
from exchange.kernel.metrics import (
    DELIVERY_LAG,
    EVENT_STORE_POSITION,
    FOLLOWER_POSITION,
    LEASE_HELD,
    QUEUE_DEPTH,
    SUBMISSIONS,
)
from exchange.kernel.tasks import Repeating, RunsInRounds
from exchange.readmodels.projector import Projector
from exchange.readmodels.views import ViewsConnection
from exchange.services.delivery_lag import DeliveryLag

SAMPLE_SECONDS = 10.0
KEPT = timedelta(hours=6)
KEPT_SAMPLES = int(KEPT.total_seconds() / SAMPLE_SECONDS)

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Sample:
    """The exchange's running totals at one moment; the difference of two samples is what happened between them."""

    at: datetime
    # Messages accepted since the process started, by business function.
    accepted: dict[str, float]
    # Deliveries queued since the process started, and their summed seconds from acceptance (the lag).
    deliveries: float
    delivery_seconds: float
    # Messages waiting now, by (participant, business function).
    depths: dict[tuple[str, str], int]


class MetricsSampler(RunsInRounds):
    def __init__(
        self,
        ledger: Ledger,
        views: ViewsConnection,
        followers: Sequence[Projector],
        clock: Clock,
        leases: Callable[[], dict[str, bool]] | None = None,
        delivery_lag: DeliveryLag | None = None,
        kept_samples: int = KEPT_SAMPLES,
    ) -> None:
        self._delivery_lag = delivery_lag
        self._ledger = ledger
        self._views = views
        # The live list of followers: `start_exchange` fills it in after the use cases are built.
        self._followers = followers
        self._clock = clock
        # Whether this process holds each follower's lease; None when there are no leases (everything runs here).
        self.leases = leases
        self._queues_seen: set[tuple[str, str]] = set()
        self._kept: deque[Sample] = deque(maxlen=kept_samples)
        self._rounds = Repeating(
            "metrics-sampler", self.record, SAMPLE_SECONDS, log=log, failure="metrics_sample_failed"
        )

    async def sample(self) -> Sample:
        """Set the gauges that are read rather than counted, and return the totals of this moment."""
        EVENT_STORE_POSITION.set(await asyncio.to_thread(self._ledger.last_position))
        # The positions as recorded: a follower another process holds does not move on in this one's memory.
        async with self._views.execute("SELECT name, position FROM tracking") as cursor:
            recorded = {row[0]: row[1] for row in await cursor.fetchall()}
        for follower in self._followers:
            FOLLOWER_POSITION.labels(follower.name).set(max(follower.position, recorded.get(follower.name, 0)))
        if self._delivery_lag is not None:
            await self._delivery_lag.current()  # sets its gauge; a reading younger than its refresh is reused
        for name, held in (self.leases() if self.leases is not None else {}).items():
            LEASE_HELD.labels(name).set(1 if held else 0)
        async with self._views.execute(
            "SELECT recipient, business_function_id, COUNT(*) FROM queue_items GROUP BY recipient, business_function_id"
        ) as cursor:
            depths = {(row[0], row[1]): row[2] for row in await cursor.fetchall()}
        # A queue emptied since the last scrape shows 0 rather than vanishing, so graphs and alerts see it drain.
        for emptied in self._queues_seen - depths.keys():
            QUEUE_DEPTH.labels(*emptied).set(0)
        for queue, depth in depths.items():
            QUEUE_DEPTH.labels(*queue).set(depth)
        self._queues_seen |= depths.keys()
        return Sample(self._clock.now(), _accepted(), *_delivery_lag(), depths)

    async def record(self) -> Sample:
        """Take a sample and keep it in the ring."""
        taken = await self.sample()
        self._kept.append(taken)
        return taken

    def kept(self) -> list[Sample]:
        """The samples in the ring, oldest first."""
        return list(self._kept)


def _accepted() -> dict[str, float]:
    totals: dict[str, float] = {}
    for family in SUBMISSIONS.collect():
        for point in family.samples:
            if point.name.endswith("_total") and point.labels.get("outcome") == "accepted":
                function = point.labels["business_function"]
                totals[function] = totals.get(function, 0.0) + point.value
    return totals


def _delivery_lag() -> tuple[float, float]:
    count = total = 0.0
    for family in DELIVERY_LAG.collect():
        for point in family.samples:
            if point.name.endswith("_count"):
                count = point.value
            elif point.name.endswith("_sum"):
                total = point.value
    return count, total
