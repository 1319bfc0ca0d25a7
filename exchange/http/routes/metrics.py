"""`GET /metrics`: every series in the Prometheus text format, no token."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from exchange.kernel.metrics import exposition
from exchange.services.metrics import MetricsSampler


def metrics_handler(sampler: MetricsSampler) -> Any:
    @get("/metrics", summary="Prometheus metrics (no token)", media_type="text/plain; version=0.0.4")
    async def metrics() -> Response[bytes]:
        await sampler.sample()
        body, content_type = exposition()
        # Litestar appends the charset to every text/ type itself.
        return Response(body, media_type=content_type.removesuffix("; charset=utf-8"))

    return metrics
