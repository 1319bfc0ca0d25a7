"""`GET /idx/v1/businessFunctions`: the catalogue, generated from the registered plugins."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Router, get

from exchange.functions.registry import Registry
from exchange.http.auth import Gate


class ResourceEntry(msgspec.Struct, rename="camel"):
    business_function_resource_id: str
    schema_versions: list[str]
    retention_days: int
    queue_retention_days: int
    sender_roles: list[str]
    receiver_roles: list[str]


class WatermarkEntry(msgspec.Struct):
    low: int
    warn: int
    high: int


class FunctionEntry(msgspec.Struct, rename="camel"):
    business_function_id: str
    name: str
    entity: str
    resources: list[ResourceEntry]
    watermark_defaults: WatermarkEntry


def catalogue_router(registry: Registry, gate: Gate) -> Router:
    @get("/businessFunctions", summary="The business functions this exchange serves")
    async def catalogue(request: Request[Any, Any, Any]) -> dict[str, list[FunctionEntry]]:
        await gate.principal(request)
        return {
            "data": [
                FunctionEntry(
                    business_function_id=f.id,
                    name=f.name,
                    entity=f.entity,
                    resources=[
                        ResourceEntry(
                            r.id,
                            list(r.schema_versions),
                            r.retention_days,
                            r.queue_retention_days,
                            sorted(r.sender_roles),
                            sorted(r.receiver_roles),
                        )
                        for r in f.resources
                    ],
                    watermark_defaults=WatermarkEntry(
                        f.watermark_defaults.low, f.watermark_defaults.warn, f.watermark_defaults.high
                    ),
                )
                for f in registry
            ]
        }

    return Router(path="/idx/v1", route_handlers=[catalogue], tags=["catalogue"])
