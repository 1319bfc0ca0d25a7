"""Registered participants: a projection of their registrations, and the queries that list them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from exchange.domain.participants import Participant
from exchange.domain.topics import topic_of
from exchange.kernel.paging import Page, cut, decode_cursor, encode_cursor
from exchange.kernel.projections import OneRowPerEvent
from exchange.readmodels.projector import Projector
from exchange.readmodels.views import ViewsConnection


@dataclass(frozen=True)
class ListedParticipant:
    participant_id: str
    name: str
    roles: list[str]


class ParticipantsProjection(OneRowPerEvent):
    """Keeps `participants` equal to the registered participants, each with the position of its registration."""

    name = "participants"
    schema = """
CREATE TABLE IF NOT EXISTS participants (
    participant_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    roles TEXT NOT NULL,
    position INTEGER NOT NULL UNIQUE
);
"""
    topics = (topic_of(Participant, "Registered"),)

    def row(self, position: int, event: Any) -> tuple[Any, ...]:
        return event.participant_id, event.name, json.dumps(event.roles), position


async def registered_before(db: ViewsConnection, position: int) -> list[str]:
    """Ids of the participants registered before `position` in the log, in id order.

    Bounded by the position, so handling the same event again (after a crash) finds the same participants.
    """
    async with db.execute(
        "SELECT participant_id FROM participants WHERE position < ? ORDER BY participant_id", (position,)
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


class ParticipantList:
    """The list of participants, up to date with everything committed before it is asked."""

    def __init__(self, db: ViewsConnection, projector: Projector) -> None:
        self._db = db
        self._projector = projector

    async def all(self) -> list[ListedParticipant]:
        """Every registered participant, in the order they were registered."""
        await self._projector.wait_for_latest()
        async with self._db.execute("SELECT participant_id, name, roles FROM participants ORDER BY position") as cursor:
            rows = await cursor.fetchall()
        return [ListedParticipant(row[0], row[1], json.loads(row[2])) for row in rows]

    async def page(self, item_count: int, cursor: str | None) -> Page[ListedParticipant]:
        """One page of the participants in the order they were registered; CursorError for a cursor not handed out."""
        after = decode_cursor(cursor, int)[0] if cursor else -1
        await self._projector.wait_for_latest()
        async with self._db.execute(
            "SELECT participant_id, name, roles, position FROM participants WHERE position > ? ORDER BY position"
            " LIMIT ?",
            (after, item_count + 1),
        ) as rows:
            fetched = list(await rows.fetchall())
        async with self._db.execute("SELECT count(*) FROM participants") as counted:
            (total,) = await counted.fetchone() or (0,)
        page, last = cut(fetched, item_count)
        return Page(
            [ListedParticipant(row[0], row[1], json.loads(row[2])) for row in page],
            encode_cursor(last[3]) if last is not None else None,
            total,
        )
