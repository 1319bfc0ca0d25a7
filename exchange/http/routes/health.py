"""`GET /healthz`: 200 when the event store and NATS answer, 503 naming the part that does not."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Response, get

from exchange.eventstore.ledger import Ledger


def health_handler(ledger: Ledger, nats_connected: Any) -> Any:
    @get("/healthz", summary="Liveness of the event store and NATS", include_in_schema=True)
    async def healthz() -> Response[dict[str, str]]:
        failing = []
        try:
            await asyncio.wait_for(asyncio.to_thread(ledger.last_position), timeout=2)
        except Exception:
            failing.append("event store")
        if not nats_connected():
            failing.append("nats")
        if failing:
            return Response({"status": "unavailable", "failing": ", ".join(failing)}, status_code=503)
        return Response({"status": "ok"})

    return healthz
