"""Rebuilding a read model from zero: the event store is the record, every view can be made again from it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from archive.projection import ArchiveProjection
from exchange.eventstore.ledger import Ledger
from exchange.functions.registry import Registry
from exchange.readmodels.flow_history import FlowHistoryProjection
from exchange.readmodels.participants import ParticipantsProjection
from exchange.readmodels.plugin_aggregates import NAME as PLUGIN_AGGREGATES
from exchange.readmodels.plugin_aggregates import plugin_aggregates_projections
from exchange.readmodels.projector import Handler, Projector
from exchange.readmodels.queue import QueueProjection
from exchange.readmodels.views import open_views
from translog.projection import TranslogProjection


class Rebuildable(Handler, Protocol):
    @property
    def tables(self) -> tuple[str, ...]:
        """Every table the handler writes, emptied before the replay."""
        ...


# The handlers that together fill one read model, made for the business functions registered.
REBUILDABLE: dict[str, Callable[[Registry], list[Rebuildable]]] = {
    "translog": lambda _: [TranslogProjection()],
    "archive": lambda _: [ArchiveProjection()],
    "queue": lambda _: [QueueProjection()],
    "participants": lambda _: [ParticipantsProjection()],
    "flow_history": lambda _: [FlowHistoryProjection()],
    PLUGIN_AGGREGATES: lambda registry: list(plugin_aggregates_projections(registry)),
}


async def rebuild(data_dir: Path, name: str, registry: Registry | None = None) -> int:
    """Empty one read model and replay the whole notification log into it; returns the position reached."""
    handlers = REBUILDABLE[name](registry or Registry.from_entry_points())
    ledger = await asyncio.to_thread(Ledger.open_sqlite, data_dir / "events.sqlite")
    db = await open_views(data_dir / "views.sqlite")
    try:
        for handler in handlers:
            await db.executescript(handler.schema)
        await db.execute("BEGIN IMMEDIATE")
        for table in dict.fromkeys(table for handler in handlers for table in handler.tables):
            await db.execute(f"DELETE FROM {table}")  # noqa: S608 - table names are constants of the handlers
        # Handlers made per listing are tracked as `name:...`: those of listings given up are forgotten too.
        await db.execute("DELETE FROM tracking WHERE name = ? OR name LIKE ?", (name, f"{name}:%"))
        await db.executemany("DELETE FROM tracking WHERE name = ?", [(handler.name,) for handler in handlers])
        await db.execute("COMMIT")
        position = 0
        for handler in handlers:
            projector = Projector(ledger, db, handler)
            await projector.prepare()
            position = max(position, await projector.catch_up())
            await projector.stop()
        return position
    finally:
        await db.close()
        ledger.close()
