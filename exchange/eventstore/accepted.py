"""Which messageContextIds were accepted, and where in the log: the idempotency index of the submit path.

A submission asks here whether its messageContextId was accepted before, instead of reading the `Message`
aggregate back from the event store (`Ledger.find`): a new id, the common case, costs one dictionary lookup.
The index holds each accepted message's log position (by the message's aggregate id), so a resubmission reads
exactly one stored event, the original `Submitted`, for its receipt or its conflict.

It is fed by the same events as everything else: the submit use case adds each message it commits, and
`catch_up()` reads the `Submitted` events of the log after the index's position (once when the exchange starts,
and again when the event store refuses a message as a duplicate that another process committed). The event
store's uniqueness of (aggregate id, version) stays the final judge: the index only spares the reads.
"""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

from exchange.domain.messages import Message
from exchange.domain.topics import topic_of
from exchange.eventstore.ledger import Ledger

SUBMITTED = topic_of(Message, "Submitted")


class AcceptedMessages:
    """Accepted messages by aggregate id → position of their `Submitted` event in the notification log."""

    def __init__(self, ledger: Ledger, batch: int = 1000) -> None:
        self._ledger = ledger
        self._batch = batch
        # Keys are the ids' 128-bit integers: about half the memory of UUID objects, for one entry per message.
        self._positions: dict[int, int] = {}
        self._position = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._positions)

    def add(self, message_id: UUID, position: int) -> None:
        """A message this process committed at `position`. Thread-safe."""
        self._positions[message_id.int] = position

    def catch_up(self) -> None:
        """Take in every `Submitted` event committed so far, by any process. Thread-safe; reads the event store."""
        with self._lock:
            stop = self._ledger.last_position()
            while self._position < stop:
                found = self._ledger.notifications(self._position, self._batch, (SUBMITTED,), stop)
                for notification in found:
                    self._positions[UUID(str(notification.originator_id)).int] = notification.id
                self._position = found[-1].id if len(found) == self._batch else stop

    def submitted(self, message_id: UUID) -> Any | None:
        """The original `Submitted` event of an accepted message (one stored event read), or None when the index
        knows of none."""
        position = self._positions.get(message_id.int)
        return None if position is None else submitted_at(self._ledger, position)


def submitted_at(ledger: Ledger, position: int) -> Any:
    """The `Submitted` event at `position` of the notification log: one row read by its key, no aggregate."""
    found = ledger.notifications(position - 1, 1, (SUBMITTED,))
    if not found or found[0].id != position:
        raise LookupError(f"the log has no Submitted event at position {position}")
    return ledger.decode(found[0])
