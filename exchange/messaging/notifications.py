"""Event notifications: frames per participant with a gap-free sequence, kept 7 days in JetStream.

The notifier follows the notification log like any projection. It numbers each participant's frames in the
same transaction as its tracked position, so after a crash the same events get the same numbers again, and
`Nats-Msg-Id = participant:sequence` lets JetStream drop a frame published twice.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiosqlite
import msgspec
from nats.js import JetStreamContext

from exchange.domain.certificates import Certificate
from exchange.domain.flow import FlowControl
from exchange.domain.messages import Delivery
from exchange.domain.outages import Outage
from exchange.domain.topics import event_class, topic_of
from exchange.kernel.clock import iso
from exchange.messaging.streams import acknowledged, ensure_file_stream
from exchange.readmodels.participants import registered_before
from exchange.readmodels.projector import Projector
from exchange.readmodels.views import tracked_position

STREAM = "IDX_EVENTS"
SUBJECT_PREFIX = "idx.events"
RETENTION_SECONDS = 7 * 24 * 3600

_QUEUED = event_class(Delivery, "Queued")
_FLOW_CHANGED = event_class(FlowControl, "Changed")
_OUTAGE = event_class(Outage, "Announced")
_EXPIRY_WARNED = event_class(Certificate, "ExpiryWarned")
_encode = msgspec.json.Encoder().encode


def subject_of(participant_id: str) -> str:
    return f"{SUBJECT_PREFIX}.{participant_id}"


async def ensure_events_stream(js: JetStreamContext, replicas: int = 1) -> None:
    await ensure_file_stream(js, STREAM, SUBJECT_PREFIX, RETENTION_SECONDS, replicas)


def frames_of(event: Any, everyone: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """The participants an event concerns and the frame each gets (without its sequence yet).

    `everyone` is the participants registered before the event: an outage concerns them all.
    """
    if isinstance(event, _OUTAGE):
        frame = {"eventType": "outage", "timestamp": iso(event.announced_at), "detail": event.detail}
        return [(participant, frame) for participant in everyone]
    framed = frame_of(event)
    return [] if framed is None else [framed]


def frame_of(event: Any) -> tuple[str, dict[str, Any]] | None:
    """The participant a message or flow-control event concerns and the frame it gets."""
    if isinstance(event, _QUEUED):
        return event.recipient, {
            "eventType": "messageAvailable",
            "timestamp": iso(event.queued_at),
            "messageContextId": event.message_context_id,
            "messageType": event.message_type,
            "priority": event.priority,
            "initiatingParticipantId": event.sender_id,
            "businessFunctionId": event.business_function_id,
            "businessFunctionResourceId": event.resource_id,
        }
    if isinstance(event, _FLOW_CHANGED):
        return event.participant_id, {
            "eventType": "flowControl",
            "timestamp": iso(event.at),
            "businessFunctionId": event.business_function_id,
            "messageStatus": event.status,
            "messageCount": event.count,
            "manualStop": event.manual_stop,
        }
    if isinstance(event, _EXPIRY_WARNED):
        return event.participant_id, {
            "eventType": "certificateExpiry",
            "timestamp": iso(event.warned_at),
            "certificateSerialNumber": event.serial_number,
            "notAfter": iso(event.not_after),
            "daysLeft": event.days_left,
        }
    return None


class Notifier:
    name = "notifications"
    schema = """
CREATE TABLE IF NOT EXISTS event_sequences (
    participant_id TEXT PRIMARY KEY,
    sequence INTEGER NOT NULL
);
"""
    topics = (
        topic_of(Delivery, "Queued"),
        topic_of(FlowControl, "Changed"),
        topic_of(Outage, "Announced"),
        topic_of(Certificate, "ExpiryWarned"),
    )

    def __init__(self, js: JetStreamContext, queue: Projector, participants: Projector) -> None:
        self._js = js
        self._queue = queue
        self._participants = participants

    async def act(self, events: list[tuple[int, Any]]) -> None:
        """Wait until the queue shows these events, so that `messageAvailable` never runs ahead of the list.

        And until the participants view has every registration before them, which an outage goes to. Publishing
        happens in `handle`: the sequence numbers and the position commit together.
        """
        await self._queue.wait_for(events[-1][0])
        await self._participants.wait_for(events[-1][0])

    async def handle(self, db: aiosqlite.Connection, events: list[tuple[int, Any]]) -> None:
        # Another process following the same views may have numbered some of these events already (every worker of
        # `idx serve --workers N` runs a notifier): within this write transaction its recorded position is final,
        # and what it covers must not get second numbers.
        handled = await tracked_position(db, self.name)
        events = [(position, event) for position, event in events if position > handled]
        sequences: dict[str, int] = {}
        acks: list[asyncio.Future[Any]] = []
        for position, event in events:
            everyone = await registered_before(db, position) if isinstance(event, _OUTAGE) else []
            for participant, frame in frames_of(event, everyone):
                await self._publish(db, participant, frame, sequences, acks)
        await acknowledged(acks)
        await db.executemany(
            "INSERT INTO event_sequences (participant_id, sequence) VALUES (?, ?) "
            "ON CONFLICT (participant_id) DO UPDATE SET sequence = excluded.sequence",
            list(sequences.items()),
        )

    async def _publish(
        self,
        db: aiosqlite.Connection,
        participant: str,
        frame: dict[str, Any],
        sequences: dict[str, int],
        acks: list[asyncio.Future[Any]],
    ) -> None:
        """Number one frame for one participant and publish it; the caller awaits the acks and stores numbers."""
        if participant not in sequences:
            async with db.execute(
                "SELECT sequence FROM event_sequences WHERE participant_id = ?", (participant,)
            ) as cursor:
                row = await cursor.fetchone()
            sequences[participant] = int(row[0]) if row else 0
        sequences[participant] += 1
        sequence = sequences[participant]
        payload = _encode({"sequence": sequence, **frame})
        headers = {"Nats-Msg-Id": f"{participant}:{sequence}"}
        acks.append(await self._js.publish_async(subject_of(participant), payload, headers=headers))
