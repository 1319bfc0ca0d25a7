"""Submissions the exchange refused: recorded so that the sender and the operator can see why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from eventsourcing.domain import Aggregate


# Declared as a dataclass: eventsourcing builds the "Recorded" event from these fields, which are
# stored for ever under these names.
@dataclass(eq=False, repr=False)
class Rejection(Aggregate, created_event_name="Recorded"):
    """One refused submission, with the recipients it asked for when the envelope could be read."""

    message_context_id: str | None
    business_function_id: str
    resource_id: str
    sender_id: str
    priority: str | None
    recipients: list[str]
    status: int
    reason: str
    size: int
    rejected_at: datetime
