"""Aggregates business functions list (`PluginServices.created`): one projection per creation event they name;
and the accepted messages of the resources they list (`PluginServices.accepted`).

Each creation event a plugin lists (`ListsAggregates.listed`) is followed by a projection of its own, tracked
under its own name, so a listing a plugin adds later is filled from the start of the log without touching the
others. Their rows share one table, keyed by the event's topic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from exchange.domain.messages import Message
from exchange.domain.topics import topic_of
from exchange.functions.registry import Registry
from exchange.functions.services import AcceptedMessage, ListsAggregates, ListsMessages
from exchange.kernel.clock import utc_key
from exchange.kernel.projections import OneRowPerEvent, ViewsOnly
from exchange.readmodels.projector import Projector
from exchange.readmodels.views import ViewsConnection

NAME = "plugin_aggregates"


class NotListedError(LookupError):
    """A plugin asked for aggregates whose creation event it does not list, so no projection follows them."""


class PluginAggregatesProjection(OneRowPerEvent):
    """Keeps the rows of `plugin_aggregates` for one topic equal to the aggregates created with that event."""

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

    def row(self, position: int, event: Any) -> tuple[Any, ...]:
        return self.topic, event.originator_id.hex, position


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

    def __init__(self, db: ViewsConnection, projectors: Mapping[str, Projector]) -> None:
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


MESSAGES = "plugin_messages"


class PluginMessagesProjection(ViewsOnly):
    """Keeps a row per recipient of each accepted message of the resources one business function lists
    (`ListsMessages.listed_messages`), so that it reads back what was accepted for a participant.

    One projection per function, tracked under its own name like the listed aggregates: a function that starts
    listing later is filled from the start of the log.
    """

    topics = (topic_of(Message, "Submitted"),)
    schema = """
CREATE TABLE IF NOT EXISTS plugin_messages (
    business_function_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    message_context_id TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (recipient, message_context_id)
);
CREATE INDEX IF NOT EXISTS plugin_messages_order ON plugin_messages
    (business_function_id, resource_id, recipient, position);
"""

    def __init__(self, function_id: str, resource_ids: Iterable[str]) -> None:
        self.function_id = function_id
        self.name = f"{MESSAGES}:{function_id}"
        self._resources = frozenset(resource_ids)

    async def handle(self, db: ViewsConnection, events: list[tuple[int, Any]]) -> None:
        rows = [
            (
                event.business_function_id,
                event.resource_id,
                recipient,
                event.message_context_id,
                event.sender_id,
                utc_key(event.received_at),
                position,
            )
            for position, event in events
            if event.business_function_id == self.function_id and event.resource_id in self._resources
            for recipient in event.recipients
        ]
        await db.executemany("INSERT INTO plugin_messages VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING", rows)


def plugin_messages_projections(registry: Registry) -> list[PluginMessagesProjection]:
    return [
        PluginMessagesProjection(function.id, function.listed_messages)
        for function in registry
        if isinstance(function, ListsMessages) and function.listed_messages
    ]


class PluginMessages:
    """The accepted messages of listed resources per recipient, up to date with everything committed before."""

    def __init__(self, db: ViewsConnection, projectors: Mapping[str, Projector]) -> None:
        """`projectors` by business function id: the projector of the messages it lists."""
        self._db = db
        self._projectors = projectors

    async def accepted(
        self, business_function_id: str, resource_id: str, recipient: str, *, before: int | None, limit: int
    ) -> list[AcceptedMessage]:
        projector = self._projectors.get(business_function_id)
        if projector is None:
            raise NotListedError(f"{business_function_id} lists no accepted messages (`ListsMessages`)")
        await projector.wait_for_latest()
        async with self._db.execute(
            "SELECT message_context_id, sender_id, received_at, position FROM plugin_messages "
            "WHERE business_function_id = ? AND resource_id = ? AND recipient = ? AND position < ? "
            "ORDER BY position DESC LIMIT ?",
            (business_function_id, resource_id, recipient, before if before is not None else 2**62, limit),
        ) as cursor:
            return [
                AcceptedMessage(row[0], row[1], datetime.fromisoformat(row[2]), row[3])
                for row in await cursor.fetchall()
            ]
