"""An accepted roll, kept for the schedule queries: one immutable aggregate per message, its rows as sent.

The message itself goes to its recipients' queues untouched; this record is what `GET /ssm/v1/schedules/...`
reads, so that a query needs neither the queues (emptied by deletes) nor the payload bytes.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = UUID("0f3a9c52-7d6e-4b1a-9c8e-5e2d7f41a6b3")


class PublishedRoll(Aggregate):
    """The rows of one accepted `duid` or `region` roll and whom the message went to."""

    @staticmethod
    def create_id(message_context_id: str) -> UUID:
        return uuid5(NAMESPACE, f"ssm-roll:{message_context_id}")

    @event("Published")
    def __init__(
        self, message_context_id: str, resource_id: str, recipients: list[str], rows: list[dict[str, Any]]
    ) -> None:
        self.message_context_id = message_context_id
        self.resource_id = resource_id
        self.recipients = recipients
        self.rows = rows
