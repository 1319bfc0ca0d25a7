"""The event store's recorder on PostgreSQL: eventsourcing's, writing each transaction without pipeline mode.

eventsourcing sends a transaction's statements in psycopg's pipeline mode. With a large transaction (a group
commit holding a 5 MB payload) that can stall for ever, the client waiting for results while the server waits for
the rest of the request (psycopg issue 685 and its kin); the ledger's tests caught it about every other run. A group
commit is one transaction of three statements (lock, notify, one INSERT of every event), so the pipeline saves
next to nothing here: the same statements are sent one after another instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder


class LedgerRecorder(PostgresApplicationRecorder):
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        # As eventsourcing's own, less the pipeline: the table lock is taken in the transaction before the INSERT,
        # so positions are assigned in commit order; a duplicate id raises IntegrityError here and rolls back all.
        # No retry on a lost connection either (eventsourcing retries): a commit whose answer was lost would come
        # back as a conflict, and the caller is better told that the store failed.
        with self.datastore.get_connection() as connection, connection.transaction(), connection.cursor() as cursor:
            self._insert_events(cursor, stored_events, **kwargs)
            if not stored_events:
                return None
            self._insert_stored_events(cursor, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(cursor, stored_events, **kwargs)
