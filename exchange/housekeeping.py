"""Periodic work that time alone triggers: archive retention (and, with flow control, queue expiry)."""

from __future__ import annotations

import asyncio

import aiosqlite
import structlog

from archive.retention import due_for_purge
from exchange.clock import Clock
from exchange.functions.registry import Registry
from exchange.ledger import GroupCommit

log = structlog.get_logger(__name__)


class Housekeeper:
    """Every `interval` seconds, records what retention requires, reading the exchange's one clock."""

    def __init__(
        self, views: aiosqlite.Connection, committer: GroupCommit, registry: Registry, clock: Clock, interval: float
    ) -> None:
        self._views = views
        self._committer = committer
        self._registry = registry
        self._clock = clock
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="housekeeping")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def run_once(self) -> int:
        """Record the purges due now; returns how many archive items they remove."""
        purged = 0
        for function in self._registry:
            for resource in function.resources:
                purge = await due_for_purge(
                    self._views, function.id, resource.id, resource.retention_days, self._clock.now()
                )
                if purge is not None:
                    await self._committer.save(purge)
                    purged += len(purge.delivery_ids)
                    log.info("archive_purged", businessFunctionId=function.id, items=len(purge.delivery_ids))
        return purged

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.run_once()
            except Exception:
                log.exception("housekeeping_failed")
