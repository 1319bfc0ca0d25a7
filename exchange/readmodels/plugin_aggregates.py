"""Aggregates business functions list (`PluginServices.created`): one projection per creation event they name.

Each creation event a plugin lists (`ListsAggregates.listed`) is followed by a projection of its own, tracked
under its own name, so a listing a plugin adds later is filled from the start of the log without touching the
others. Their rows share one table, keyed by the event's topic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

import aiosqlite
from eventsourcing.domain import Aggregate

from exchange.domain.topics import topic_of
from exchange.functions.registry import Registry
from exchange.functions.services import ListsAggregates
from exchange.readmodels.projector import Projector

NAME = "plugin_aggregates"


class NotListedError(LookupError):
    """A plugin asked for aggregates whose creation event it does not list, so no projection follows them."""


class PluginAggregatesProjection:
    """Keeps the rows of `plugin_aggregates` for one topic equal to the aggregates created with that event."""

    tables = ("plugin_aggregates",)
    schema = """
CREATE TABLE IF NOT EXISTS plugin_aggregates (
    topic TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (topic, aggregate_id)
);
CREATE INDEX IF NOT EXISTS plugin_aggregates_order ON plugin_aggregates (topic, position);
"""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.name = f"{NAME}:{topic}"
        self.topics = (topic,)

    async def act(self, events: list[tuple[int, Any]]) -> None:
        """Nothing outside the database."""

    async def handle(self, db: aiosqlite.Connection, events: list[tuple[int, Any]]) -> None:
        await db.executemany(
            "INSERT OR IGNORE INTO plugin_aggregates VALUES (?,?,?)",
            [(self.topic, event.originator_id.hex, position) for position, event in events],
        )


def listed_topics(registry: Registry) -> list[str]:
    """The topics of the creation events the registered business functions list, each once."""
    listed: Iterable[tuple[type[Aggregate], str]] = (
        pair for function in registry if isinstance(function, ListsAggregates) for pair in function.listed
    )
    return list(dict.fromkeys(topic_of(cls, event_name) for cls, event_name in listed))


def plugin_aggregates_projections(registry: Registry) -> list[PluginAggregatesProjection]:
    return [PluginAggregatesProjection(topic) for topic in listed_topics(registry)]


class PluginAggregates:
    """Ids of the aggregates plugins list, up to date with everything committed before they are asked."""

    def __init__(self, db: aiosqlite.Connection, projectors: Mapping[str, Projector]) -> None:
        """`projectors` by topic: the projector of each listed creation event."""
        self._db = db
        self._projectors = projectors

    async def created(self, cls: type[Aggregate], event_name: str) -> list[UUID]:
        """Ids of every aggregate of `cls` created with the event `event_name`, oldest first."""
        topic = topic_of(cls, event_name)
        projector = self._projectors.get(topic)
        if projector is None:
            raise NotListedError(f"{topic} is not in the `listed` events of any business function")
        await projector.wait_for_latest()
        async with self._db.execute(
            "SELECT aggregate_id FROM plugin_aggregates WHERE topic = ? ORDER BY position", (topic,)
        ) as cursor:
            return [UUID(hex=row[0]) for row in await cursor.fetchall()]
