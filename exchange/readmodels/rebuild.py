"""Rebuilding a read model from zero: the event store is the record, every view can be made again from it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from archive.projection import ArchiveProjection
from exchange.eventstore.ledger import Ledger, persistence_for
from exchange.eventstore.postgres_views import open_views_for
from exchange.functions.registry import Registry
from exchange.readmodels.acknowledgements import AcknowledgementsProjection
from exchange.readmodels.flow_history import FlowHistoryProjection
from exchange.readmodels.merkle_log import MerkleLogProjection
from exchange.readmodels.participants import ParticipantsProjection
from exchange.readmodels.plugin_aggregates import MESSAGES as PLUGIN_MESSAGES
from exchange.readmodels.plugin_aggregates import NAME as PLUGIN_AGGREGATES
from exchange.readmodels.plugin_aggregates import (
    PluginAggregatesProjection,
    PluginMessagesProjection,
    plugin_aggregates_projections,
    plugin_messages_projections,
)
from exchange.readmodels.projector import Handler, Projector
from exchange.readmodels.queue import QueueProjection
from translog.projection import TranslogProjection


class Rebuildable(Handler, Protocol):
    @property
    def tables(self) -> tuple[str, ...]:
        """Every table the handler writes."""
        ...


@dataclass(frozen=True)
class ReadModel:
    """The tables of one read model, and the handlers that fill them for the business functions registered."""

    schema: str
    tables: tuple[str, ...]
    handlers: Callable[[Registry], Sequence[Handler]]


def _one(projection: Callable[[], Rebuildable]) -> ReadModel:
    """A read model one handler fills, whatever business functions are registered."""
    made = projection()
    return ReadModel(made.schema, made.tables, lambda _: [projection()])


REBUILDABLE: dict[str, ReadModel] = {
    "translog": _one(TranslogProjection),
    "archive": _one(ArchiveProjection),
    "queue": _one(QueueProjection),
    "participants": _one(ParticipantsProjection),
    "flow_history": _one(FlowHistoryProjection),
    "acknowledgements": _one(AcknowledgementsProjection),
    # Leaves and blocks only: the signed tree heads stay, so a log rebuilt differently no longer matches them.
    "log": _one(MerkleLogProjection),
    # Its rows and tracked positions go even for listings no business function declares any more.
    PLUGIN_AGGREGATES: ReadModel(
        PluginAggregatesProjection.schema, PluginAggregatesProjection.tables, plugin_aggregates_projections
    ),
    PLUGIN_MESSAGES: ReadModel(
        PluginMessagesProjection.schema, PluginMessagesProjection.tables, plugin_messages_projections
    ),
}


async def rebuild(data_dir: Path, name: str, registry: Registry | None = None, database_url: str | None = None) -> int:
    """Empty one read model and replay the whole notification log into it; returns the position reached.

    With `database_url`, the event store and the read model are those in that PostgreSQL database.
    """
    model = REBUILDABLE[name]
    handlers = model.handlers(registry or Registry.from_entry_points())
    ledger = await asyncio.to_thread(Ledger.open, persistence_for(database_url, data_dir / "events.sqlite"))
    db = await open_views_for(database_url, data_dir / "views.sqlite")
    try:
        await db.executescript(model.schema)
        await db.execute("BEGIN IMMEDIATE")
        for table in model.tables:
            await db.execute(f"DELETE FROM {table}")  # noqa: S608 - table names are constants of the handlers
        # Handlers made per listing are tracked as `name:...`: those of listings given up are forgotten too.
        await db.execute("DELETE FROM tracking WHERE name = ? OR name LIKE ?", (name, f"{name}:%"))
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
