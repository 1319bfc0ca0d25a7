"""The transaction log: one row per message and receiver with its current status, and every status change.

A projection of the event store. Rows and history are keyed by what the events carry (delivery ids, positions
in the notification log), so rebuilding from zero gives identical contents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from exchange.domain import ids
from exchange.domain.flow import FlowControl
from exchange.domain.messages import Delivery, Message
from exchange.domain.rejections import Rejection
from exchange.domain.topics import event_class, topic_of
from exchange.kernel.clock import utc_key
from exchange.kernel.formats import PRIORITY_RANK
from exchange.kernel.projections import ViewsOnly

if TYPE_CHECKING:
    # Types only: the read-side packages depend on the domain and the kernel, not on the exchange's adapters.
    from exchange.readmodels.views import ViewsConnection

SCHEMA = """
CREATE TABLE IF NOT EXISTS translog_rows (
    transaction_id TEXT PRIMARY KEY,
    message_context_id TEXT,
    message_type TEXT NOT NULL,
    business_function_id TEXT NOT NULL,
    business_function_resource_id TEXT NOT NULL,
    priority TEXT,
    priority_rank INTEGER,
    initiating_participant_id TEXT NOT NULL,
    receiving_participant_id TEXT,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status_at TEXT NOT NULL,
    size INTEGER NOT NULL,
    detail TEXT,
    position INTEGER NOT NULL
);
-- Every search is bounded by time and most by a participant: the default sort (newest first) and the
-- participant filters use these without a table scan; a messageContextId finds its fan-out directly.
CREATE INDEX IF NOT EXISTS translog_created ON translog_rows (created_at, position);
CREATE INDEX IF NOT EXISTS translog_sender ON translog_rows (initiating_participant_id, created_at, position);
CREATE INDEX IF NOT EXISTS translog_receiver ON translog_rows (receiving_participant_id, created_at, position);
CREATE INDEX IF NOT EXISTS translog_context ON translog_rows (message_context_id);
CREATE INDEX IF NOT EXISTS translog_status ON translog_rows (status, created_at, position);
CREATE TABLE IF NOT EXISTS translog_history (
    position INTEGER NOT NULL,
    transaction_id TEXT NOT NULL,
    message_context_id TEXT,
    receiving_participant_id TEXT,
    status TEXT NOT NULL,
    status_at TEXT NOT NULL,
    detail TEXT,
    PRIMARY KEY (position, transaction_id)
);
CREATE INDEX IF NOT EXISTS translog_history_context ON translog_history (message_context_id, position);
"""

_SUBMITTED = event_class(Message, "Submitted")
_QUEUED = event_class(Delivery, "Queued")
_RETRIEVED = event_class(Delivery, "Retrieved")
_REMOVED = event_class(Delivery, "Removed")
_EXPIRED = event_class(Delivery, "Expired")
_REJECTED = event_class(Rejection, "Recorded")
_FLOW_CHANGED = event_class(FlowControl, "Changed")

# Lifecycle steps of a delivery: (event class, status it leaves the row in, or None when the row keeps its status).
_STEPS: list[tuple[type[Any], str | None, str]] = [
    (_QUEUED, "completed", "queued_at"),
    (_RETRIEVED, None, "retrieved_at"),
    (_REMOVED, "removed", "removed_at"),
    (_EXPIRED, "expired", "expired_at"),
]


class TranslogProjection(ViewsOnly):
    name = "translog"
    schema = SCHEMA
    topics = (
        topic_of(Message, "Submitted"),
        topic_of(Delivery, "Queued"),
        topic_of(Delivery, "Retrieved"),
        topic_of(Delivery, "Removed"),
        topic_of(Delivery, "Expired"),
        topic_of(Rejection, "Recorded"),
        topic_of(FlowControl, "Changed"),
    )

    async def handle(self, db: ViewsConnection, events: list[tuple[int, Any]]) -> None:
        # Statements are gathered per kind and sent with one executemany each: a round trip to the database
        # thread per statement made this projection the longest writer of the views file. Gathering keeps the
        # outcome of applying events one by one: rows are only ever inserted before their steps refer to them,
        # a history entry reads only what a row never changes, and status updates keep the order of the events.
        batch = _Batch()
        for position, event in events:
            if isinstance(event, _SUBMITTED):
                _submitted(batch, position, event)
            elif isinstance(event, _REJECTED):
                _rejected(batch, position, event)
            elif isinstance(event, _FLOW_CHANGED):
                _flow_changed(batch, position, event)
            else:
                _step(batch, position, event)
        await batch.write(db)


class _Batch:
    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []
        self.history: list[tuple[Any, ...]] = []
        self.steps: list[tuple[Any, ...]] = []
        self.statuses: list[tuple[Any, ...]] = []

    def row(self, *values: Any) -> None:
        self.rows.append(values)

    def entry(
        self,
        position: int,
        transaction_id: str,
        message_context_id: str | None,
        recipient: str | None,
        status: str,
        at: str,
        detail: str | None = None,
    ) -> None:
        self.history.append((position, transaction_id, message_context_id, recipient, status, at, detail))

    async def write(self, db: ViewsConnection) -> None:
        if self.rows:
            await db.executemany(
                "INSERT INTO translog_rows VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING", self.rows
            )
        if self.history:
            await db.executemany(
                "INSERT INTO translog_history VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING", self.history
            )
        if self.steps:
            # A step of a delivery the log has no row for (none is expected) leaves no trace, as before.
            await db.executemany(
                "INSERT INTO translog_history "
                "SELECT ?, transaction_id, message_context_id, receiving_participant_id, ?, ?, NULL "
                "FROM translog_rows WHERE transaction_id = ? ON CONFLICT DO NOTHING",
                self.steps,
            )
        if self.statuses:
            await db.executemany(
                "UPDATE translog_rows SET status = ?, status_at = ? WHERE transaction_id = ?", self.statuses
            )


def _submitted(batch: _Batch, position: int, event: Any) -> None:
    at = utc_key(event.received_at)
    for recipient in event.recipients:
        transaction_id = ids.delivery_id(event.message_context_id, recipient).hex
        batch.row(
            transaction_id, event.message_context_id, "message", event.business_function_id,
            event.resource_id, event.priority, PRIORITY_RANK[event.priority], event.sender_id, recipient,
            "delivery_pending", at, at, len(event.payload), None, position,
        )  # fmt: skip
        batch.entry(position, transaction_id, event.message_context_id, recipient, "delivery_pending", at)


def _rejected(batch: _Batch, position: int, event: Any) -> None:
    at = utc_key(event.rejected_at)
    receivers: list[str | None] = list(event.recipients) or [None]
    for index, recipient in enumerate(receivers):
        transaction_id = f"{event.originator_id.hex}-{index}"
        batch.row(
            transaction_id, event.message_context_id, "message", event.business_function_id,
            event.resource_id, event.priority, PRIORITY_RANK.get(event.priority or ""), event.sender_id,
            recipient, "message_rejected", at, at, event.size, event.reason, position,
        )  # fmt: skip
        batch.entry(position, transaction_id, event.message_context_id, recipient, "message_rejected", at, event.reason)


def _flow_changed(batch: _Batch, position: int, event: Any) -> None:
    """A flow-control transition of a participant's queue: a row of type `flowControl` for it and the operator."""
    at = utc_key(event.at)
    transaction_id = f"{event.originator_id.hex}-{event.originator_version}"
    detail = f"messageCount={event.count} manualStop={str(event.manual_stop).lower()}"
    batch.row(
        transaction_id, None, "flowControl", event.business_function_id, "", None, None,
        event.participant_id, event.participant_id, event.status, at, at, 0, detail, position,
    )  # fmt: skip
    batch.entry(position, transaction_id, None, event.participant_id, event.status, at, detail)


def _step(batch: _Batch, position: int, event: Any) -> None:
    for event_type, status, time_field in _STEPS:
        if isinstance(event, event_type):
            at = utc_key(getattr(event, time_field))
            transaction_id = event.originator_id.hex
            batch.steps.append((position, status or "retrieved", at, transaction_id))
            if status is not None:
                batch.statuses.append((status, at, transaction_id))
            return
