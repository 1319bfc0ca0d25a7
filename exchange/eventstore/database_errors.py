"""What a failing PostgreSQL means to a caller: try again later (503), or the disk is full (507).

The adapters on PostgreSQL (the event store's recorder, the flow-control counters) raise these service errors in
place of psycopg's and eventsourcing's: a request during an outage of the database gets a 503 with Retry-After
rather than a 500, and nothing above the adapters knows the driver. The connections are pooled and checked before
use, so once the server is back the next request gets a fresh connection: no restart of the exchange is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from exchange.kernel.errors import DatabaseUnavailableError, ServiceError, StorageFullError, is_storage_full


def in_own_terms(error: BaseException) -> BaseException:
    """The service error a database failure means (507 for a full disk, 503 for a database out of reach), or
    `error` itself when it is neither (a bug is a bug, and stays a 500)."""
    if isinstance(error, ServiceError):
        return error
    translated: ServiceError | None = None
    if is_storage_full(error):
        translated = StorageFullError("the database's disk is full; nothing was stored")
    elif _out_of_reach(error):
        translated = DatabaseUnavailableError()
    if translated is None:
        return error
    translated.__cause__ = error
    return translated


@contextmanager
def database_errors() -> Iterator[None]:
    """Raise a failure of the database inside the block as the service error it means (see `in_own_terms`)."""
    try:
        yield
    except Exception as error:
        translated = in_own_terms(error)
        if translated is error:
            raise
        raise translated from error


def _out_of_reach(error: BaseException) -> bool:
    # psycopg's OperationalError covers a refused or broken connection, a server shutting down (AdminShutdown), too
    # many connections and the pool's PoolTimeout; InterfaceError a connection already closed. eventsourcing wraps
    # them in its own errors of the same names, raised from psycopg's: the chain is followed.
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, psycopg.OperationalError | psycopg.InterfaceError):
            return True
        current = current.__cause__ or current.__context__
    return False
