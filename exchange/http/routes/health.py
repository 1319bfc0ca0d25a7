"""`GET /healthz`: 200 when the event store and NATS answer, 503 naming the part that does not; either way with
this process's pid and the leases it holds (which followers of the log it runs)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response, get

from exchange.services.health import Health, ProcessInfo


class HealthView(msgspec.Struct, omit_defaults=True):
    status: str
    process: ProcessInfo
    # The parts that do not answer, comma-separated; only when status is "unavailable".
    failing: str | None = None
    # How far delivery trails the accepted messages, in seconds (submissions wait above the bound).
    delivery_lag_seconds: float | None = msgspec.field(default=None, name="deliveryLagSeconds")


def health_handler(health: Health) -> Any:
    @get("/healthz", summary="Liveness of the event store and NATS", include_in_schema=True)
    async def healthz() -> Response[HealthView]:
        failing = await health.failing()
        process = health.process()
        if failing:
            return Response(HealthView("unavailable", process, ", ".join(failing)), status_code=503)
        return Response(HealthView("ok", process, delivery_lag_seconds=await health.delivery_lag()))

    return healthz
