"""Event notifications: frames per participant with a gap-free sequence, kept 7 days in JetStream.

The notifier follows the notification log like any projection. It numbers each participant's frames from the
sequences committed with its tracked position, and commits the new ones with the position, so after a crash the
same events get the same numbers again, and `Nats-Msg-Id = participant:sequence` lets JetStream drop a frame
published twice.
"""

from __future__ import annotations

import asyncio
from typing import Any

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
from exchange.readmodels.views import ViewsConnection

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

    def __init__(self, js: JetStreamContext, queue: Projector, participants: Projector, views: ViewsConnection) -> None:
        self._js = js
        self._queue = queue
        self._participants = participants
        # Read only: the committed sequences and participants. Only `handle` writes, after `act`. In the exchange
        # this is its follower's own connection: on one shared with requests, a read left part-way pins what the
        # connection sees, and a frame numbered from sequences older than the last commit reuses a number, which
        # JetStream then drops as a copy.
        self._views = views
        # The sequences `act` published a batch under, by the batch's last position, for `handle` to commit.
        self._published: tuple[int, dict[str, int]] | None = None

    async def act(self, events: list[tuple[int, Any]]) -> None:
        """Publish the frames of these events, numbered on from the sequences committed so far.

        First wait until the queue shows these events, so that `messageAvailable` never runs ahead of the list,
        and, for a batch with an outage, until the participants view has every registration before it, which the
        outage goes to. Only then: waiting for that view in every batch delayed every frame by its turn at the
        views file, and stalled the notifier whenever the view fell behind. Publishing
        here rather than in `handle` keeps JetStream's acks out of the views' write lock, which every other
        follower waits for. A batch that fails before `handle` commits is numbered again from the same committed
        sequences, so its frames get the same numbers and JetStream drops the copies.
        """
        await self._queue.wait_for(events[-1][0])
        outages = [position for position, event in events if isinstance(event, _OUTAGE)]
        if outages:
            await self._participants.wait_for(outages[-1])
        self._published = None
        if self._views.in_transaction:
            # Left open by a failed COMMIT of its follower, which undoes it before its next batch anyway: the
            # sequences are numbered on from what was committed, not from what may yet be undone.
            await self._views.rollback()
        sequences: dict[str, int] = {}
        acks: list[asyncio.Future[Any]] = []
        for position, event in events:
            everyone = await registered_before(self._views, position) if isinstance(event, _OUTAGE) else []
            for participant, frame in frames_of(event, everyone):
                await self._publish(self._views, participant, frame, sequences, acks)
        await acknowledged(acks)
        self._published = (events[-1][0], sequences)

    async def handle(self, db: ViewsConnection, events: list[tuple[int, Any]]) -> None:
        """Commit the sequences `act` published these events under, with the position."""
        published, self._published = self._published, None
        if published is None or published[0] != events[-1][0]:
            raise RuntimeError("notifications must be published (act) before their sequences are recorded")
        sequences = published[1]
        await db.executemany(
            "INSERT INTO event_sequences (participant_id, sequence) VALUES (?, ?) "
            "ON CONFLICT (participant_id) DO UPDATE SET sequence = excluded.sequence",
            list(sequences.items()),
        )

    async def _publish(
        self,
        db: ViewsConnection,
        participant: str,
        frame: dict[str, Any],
        sequences: dict[str, int],
        acks: list[asyncio.Future[Any]],
    ) -> None:
        """Number one frame for one participant and publish it; the caller awaits the acks and stores numbers.

        `db` is read for the participant's last committed sequence.
        """
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
