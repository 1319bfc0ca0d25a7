"""Archive retention: items older than their business function's retention leave through a recorded purge."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from exchange.domain.retention import ArchivePurge
from exchange.kernel.clock import utc_key

if TYPE_CHECKING:
    # Types only: the read-side packages depend on the domain and the kernel, not on the exchange's adapters.
    from exchange.readmodels.views import ViewsConnection


async def due_for_purge(
    db: ViewsConnection,
    business_function_id: str,
    resource_id: str,
    retention_days: int,
    now: datetime,
    limit: int = 10_000,
) -> ArchivePurge | None:
    """The purge to record now for one resource, or None when nothing is past its retention."""
    cutoff = now - timedelta(days=retention_days)
    async with db.execute(
        "SELECT delivery_id FROM archive_items "
        "WHERE business_function_id = ? AND resource_id = ? AND delivered_at < ? LIMIT ?",
        (business_function_id, resource_id, utc_key(cutoff), limit),
    ) as cursor:
        expired = [row[0] for row in await cursor.fetchall()]
    if not expired:
        return None
    return ArchivePurge(business_function_id=business_function_id, delivery_ids=expired, cutoff=cutoff, purged_at=now)
