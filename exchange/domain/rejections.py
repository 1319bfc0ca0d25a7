"""Submissions the exchange refused: recorded so that the sender and the operator can see why."""

from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import Aggregate, event


class Rejection(Aggregate):
    """One refused submission, with the recipients it asked for when the envelope could be read."""

    @event("Recorded")
    def __init__(
        self,
        message_context_id: str | None,
        business_function_id: str,
        resource_id: str,
        sender_id: str,
        priority: str | None,
        recipients: list[str],
        status: int,
        reason: str,
        size: int,
        rejected_at: datetime,
    ) -> None:
        self.message_context_id = message_context_id
        self.business_function_id = business_function_id
        self.resource_id = resource_id
        self.sender_id = sender_id
        self.priority = priority
        self.recipients = recipients
        self.status = status
        self.reason = reason
        self.size = size
        self.rejected_at = rejected_at
