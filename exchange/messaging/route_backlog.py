"""The routes stage of the delivery path, as JetStream counts it: routes published against routes decided.

Read from the deliverer's durable consumer, which every process of the exchange shares (whichever holds the
deliverer's lease), for the admission on the delivery lag (exchange.services.delivery_lag).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nats.js import JetStreamContext

from exchange.messaging.routing import DURABLE, STREAM


def routes_stage(js: JetStreamContext) -> Callable[[], Awaitable[tuple[int, int]]]:
    """(the routes stream's last sequence, the deliverer's acknowledged floor): routes between them are published
    and not yet decided by the gate."""

    async def read() -> tuple[int, int]:
        info = await js.consumer_info(STREAM, DURABLE)
        delivered = info.delivered.stream_seq if info.delivered and info.delivered.stream_seq else 0
        end = delivered + (info.num_pending or 0)
        if not info.num_pending and not info.num_ack_pending:
            return end, end
        return end, info.ack_floor.stream_seq if info.ack_floor and info.ack_floor.stream_seq else 0

    return read
