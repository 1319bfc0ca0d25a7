"""The routes stage of the delivery path, as JetStream counts it: routes published against routes handed to the
deliverer.

Read from the deliverer's durable consumer, which every process of the exchange shares (whichever holds the
deliverer's lease), for the admission on the delivery lag (exchange.services.delivery_lag). Routes handed out and
not yet acknowledged do not count: the deliverer holds at most two batches of them, and after a crash its
successor decides those its predecessor fetched at once while their acknowledgements wait for JetStream's
`ack_wait`, which the acknowledged floor would have counted as a backlog for that long.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nats.js import JetStreamContext

from exchange.messaging.routing import DURABLE, STREAM


def routes_stage(js: JetStreamContext) -> Callable[[], Awaitable[tuple[int, int]]]:
    """(the routes stream's last sequence, the last one handed to the deliverer): routes between them wait in
    JetStream for the deliverer to fetch them."""

    async def read() -> tuple[int, int]:
        info = await js.consumer_info(STREAM, DURABLE)
        delivered = info.delivered.stream_seq if info.delivered and info.delivered.stream_seq else 0
        return delivered + (info.num_pending or 0), delivered

    return read
