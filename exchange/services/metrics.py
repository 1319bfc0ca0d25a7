"""What a scrape of /metrics reads at that moment: queue depths from the queue view, the followers' positions and
the event store's. Counters and histograms are updated where things happen instead (exchange.kernel.metrics)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import aiosqlite

from exchange.eventstore.ledger import Ledger
from exchange.kernel.metrics import EVENT_STORE_POSITION, FOLLOWER_POSITION, QUEUE_DEPTH
from exchange.readmodels.projector import Projector


class MetricsSampler:
    def __init__(self, ledger: Ledger, views: aiosqlite.Connection, followers: Sequence[Projector]) -> None:
        self._ledger = ledger
        self._views = views
        # The live list of followers: `start_exchange` fills it in after the use cases are built.
        self._followers = followers
        self._queues_seen: set[tuple[str, str]] = set()

    async def sample(self) -> None:
        """Set the gauges that are read rather than counted."""
        EVENT_STORE_POSITION.set(await asyncio.to_thread(self._ledger.last_position))
        for follower in self._followers:
            FOLLOWER_POSITION.labels(follower.name).set(follower.position)
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
