"""`GET /healthz`: 200 when the event store and NATS answer, 503 naming the part that does not; either way with
this process's pid and the leases it holds (which followers of the log it runs)."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from exchange.services.health import Health


def health_handler(health: Health) -> Any:
    @get("/healthz", summary="Liveness of the event store and NATS", include_in_schema=True)
    async def healthz() -> Response[dict[str, object]]:
        failing = await health.failing()
        if failing:
            return Response(
                {"status": "unavailable", "failing": ", ".join(failing), "process": health.process()}, status_code=503
            )
        return Response({"status": "ok", "process": health.process()})

    return healthz
