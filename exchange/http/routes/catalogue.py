"""`GET /idx/v1/businessFunctions`: the catalogue, generated from the registered plugins."""

from __future__ import annotations

import msgspec
from litestar import Router, get

from exchange.functions.registry import Registry
from exchange.http.auth import requires_token


class ResourceEntry(msgspec.Struct, rename="camel"):
    business_function_resource_id: str
    schema_versions: list[str]
    retention_days: int
    queue_retention_days: int
    sender_roles: list[str]
    receiver_roles: list[str]
    signed_delete: str


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


def catalogue_router(registry: Registry) -> Router:
    @get("/businessFunctions", summary="The business functions this exchange serves")
    async def catalogue() -> dict[str, list[FunctionEntry]]:
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
                            r.signed_delete,
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

    return Router(path="/idx/v1", route_handlers=[catalogue], tags=["catalogue"], opt=requires_token())
