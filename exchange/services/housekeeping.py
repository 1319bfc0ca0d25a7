"""Periodic work that time alone triggers: queue expiry, archive retention, certificate expiry warnings and the
daily renewal of the CA's revocation list."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import structlog

from archive.retention import due_for_purge
from exchange.domain.messages import Delivery
from exchange.eventstore.ledger import GroupCommit, Ledger
from exchange.functions.registry import Registry
from exchange.kernel.clock import Clock, utc_key
from exchange.kernel.errors import ConcurrencyError
from exchange.kernel.tasks import Repeating, RunsInRounds
from exchange.readmodels.views import ViewsConnection
from exchange.services.expiry_watch import ExpiryWatch

log = structlog.get_logger(__name__)


@dataclass(eq=False)
class Housekeeper(RunsInRounds):
    """Every `interval` seconds, records what retention requires, reading the exchange's one clock."""

    views: ViewsConnection
    ledger: Ledger
    committer: GroupCommit
    registry: Registry
    clock: Clock
    on_expired: Callable[[str, str], Awaitable[None]]
    interval: float
    certificate_watch: ExpiryWatch | None = None
    # Asked for on every round, it makes a new CRL once the last one is a day old.
    revocation_list: Callable[[], Awaitable[object]] | None = field(default=None, kw_only=True)
    # Whether this process holds housekeeping's lease: with several processes, one of them keeps house.
    leased: Callable[[], bool] = field(default=lambda: True, kw_only=True)

    def __post_init__(self) -> None:
        # Rounds come every `interval` seconds from the start, the first one included.
        self._rounds = Repeating(
            "housekeeping", self._round, self.interval, log=log, failure="housekeeping_failed", wait_first=True
        )

    async def _round(self) -> None:
        if self.leased():
            await self.run_once()

    async def run_once(self) -> int:
        """Record the expiries and purges due now; returns how many queue entries and archive items they remove."""
        removed = await self.expire_queues() + await self.purge_archive()
        if self.certificate_watch is not None:
            await self.certificate_watch.run_once()
        if self.revocation_list is not None:
            await self.revocation_list()
        return removed

    async def expire_queues(self) -> int:
        """Messages left in a queue past the resource's queue retention leave it as `expired`."""
        expired = 0
        now = self.clock.now()
        for function in self.registry:
            for resource in function.resources:
                cutoff = now - timedelta(days=resource.queue_retention_days)
                async with self.views.execute(
                    "SELECT message_context_id, recipient FROM queue_items "
                    "WHERE business_function_id = ? AND resource_id = ? AND queued_at < ? LIMIT 1000",
                    (function.id, resource.id, utc_key(cutoff)),
                ) as cursor:
                    due = [(r[0], r[1]) for r in await cursor.fetchall()]
                recipients = set()
                for message_context_id, recipient in due:
                    delivery = await asyncio.to_thread(
                        self.ledger.find, Delivery, Delivery.create_id(message_context_id, recipient)
                    )
                    if delivery is None or not delivery.in_queue:
                        continue
                    delivery.expire(expired_at=now)
                    try:
                        await self.committer.save(delivery)
                    except ConcurrencyError:
                        continue  # deleted a moment ago by its recipient
                    expired += 1
                    recipients.add(recipient)
                for recipient in recipients:
                    await self.on_expired(recipient, function.id)
                if due:
                    log.info("queue_expired", businessFunctionId=function.id, messages=len(due))
        return expired

    async def purge_archive(self) -> int:
        purged = 0
        for function in self.registry:
            for resource in function.resources:
                purge = await due_for_purge(
                    self.views, function.id, resource.id, resource.retention_days, self.clock.now()
                )
                if purge is not None:
                    await self.committer.save(purge)
                    purged += len(purge.delivery_ids)
                    log.info("archive_purged", businessFunctionId=function.id, items=len(purge.delivery_ids))
        return purged
