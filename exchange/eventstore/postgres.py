"""The event store's recorder on PostgreSQL: eventsourcing's, writing each transaction without pipeline mode, and
failing at once, in the exchange's terms, while the database is out of reach.

eventsourcing sends a transaction's statements in psycopg's pipeline mode. With a large transaction (a group
commit holding a 5 MB payload) that can stall for ever, the client waiting for results while the server waits for
the rest of the request (psycopg issue 685 and its kin); the ledger's tests caught it about every other run. A group
commit is one transaction of three statements (lock, notify, one INSERT of every event), so the pipeline saves
next to nothing here: the same statements are sent one after another instead.

eventsourcing retries a read ten times on a lost connection, each try waiting up to the pool's timeout for a
connection: with PostgreSQL down a request would hang for minutes. Here a read tries once (the pool checks each
connection before giving it out, so one broken by a restart of the server is replaced, not used) and a failure is
raised as the service error it means: 503 with Retry-After, or 507 for a full disk (`database_errors`).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder

from exchange.eventstore.database_errors import database_errors

# eventsourcing's reads without their retry decorator.
_select_events = inspect.unwrap(PostgresApplicationRecorder.select_events)
_select_notifications = inspect.unwrap(PostgresApplicationRecorder.select_notifications)
_max_notification_id = inspect.unwrap(PostgresApplicationRecorder.max_notification_id)


class LedgerRecorder(PostgresApplicationRecorder):
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        # As eventsourcing's own, less the pipeline: the table lock is taken in the transaction before the INSERT,
        # so positions are assigned in commit order; a duplicate id raises IntegrityError here and rolls back all.
        # No retry on a lost connection either (eventsourcing retries): a commit whose answer was lost would come
        # back as a conflict, and the caller is better told that the store failed.
        with (
            database_errors(),
            self.datastore.get_connection() as connection,
            connection.transaction(),
            connection.cursor() as cursor,
        ):
            self._insert_events(cursor, stored_events, **kwargs)
            if not stored_events:
                return None
            self._insert_stored_events(cursor, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(cursor, stored_events, **kwargs)

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        with database_errors():
            events: Sequence[StoredEvent] = _select_events(self, originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
            return events

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        with database_errors():
            notifications: Sequence[Notification] = _select_notifications(
                self, start, limit, stop, topics, inclusive_of_start=inclusive_of_start
            )
            return notifications

    def max_notification_id(self) -> int | None:
        with database_errors():
            position: int | None = _max_notification_id(self)
            return position
