"""Service errors: what a use case raises when it cannot do what was asked.

They say what went wrong in the exchange's own terms (not found, conflict, refused, invalid, limit exceeded);
the HTTP layer alone decides which status and problem type each becomes (`exchange.http.problems`).
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Sequence

import msgspec


class FieldError(msgspec.Struct, frozen=True):
    """One broken rule: `field` is the path from the body root, e.g. `data.header.priority`."""

    field: str
    message: str


class ServiceError(Exception):
    """A request the exchange will not carry out, with a sentence for a person and the fields at fault."""

    def __init__(self, detail: str, *, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)


class MalformedError(ServiceError):
    """The input cannot be read at all: headers, JSON, a query parameter or a cursor of the wrong form."""


class RefusedError(ServiceError):
    """The caller may not do this: another participant's business, or a role or entity it lacks."""


class SuspendedError(RefusedError):
    """The caller's participant is suspended by the operator: none of its calls are carried out."""


class SignatureRefusedError(RefusedError):
    """The signature does not prove that the sender signed these exact bytes."""


class NotFoundError(ServiceError):
    """Nothing of the caller's by that name (whether it exists for someone else is not revealed)."""


class NotAcceptableError(ServiceError):
    """The caller accepts none of the forms (media types) the answer comes in."""


class ConflictError(ServiceError):
    """The request contradicts what is already recorded (a resubmission with another payload, say)."""


class InvalidError(ServiceError):
    """Well-formed input that breaks a rule or disagrees with itself; `errors` names each field."""


class LimitExceededError(ServiceError):
    """A quota or rate limit is used up; it may be tried again after `retry_after` seconds."""

    def __init__(self, detail: str, *, retry_after: float) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class UnavailableError(ServiceError):
    """A part the exchange depends on does not answer; the request may be tried again later (after `retry_after`
    seconds, when known)."""

    def __init__(self, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class DatabaseUnavailableError(UnavailableError):
    """The exchange's database does not answer (stopped, restarting, out of reach): nothing of the request was
    done that the caller could rely on; try again after `retry_after`.

    Five seconds by default: about as long as a restart of PostgreSQL or a failover to its standby takes."""

    def __init__(
        self, detail: str = "the exchange's database is unavailable; try again later", *, retry_after: float = 5.0
    ) -> None:
        super().__init__(detail, retry_after=retry_after)


class StorageFullError(UnavailableError):
    """The disk under the exchange's data is full: nothing of the request was stored; try again after `retry_after`."""

    def __init__(self, detail: str = "the exchange's storage is full", *, retry_after: float = 60.0) -> None:
        super().__init__(detail, retry_after=retry_after)


POSTGRES_DISK_FULL = "53100"  # SQLSTATE disk_full: the server could not extend a file


def is_storage_full(error: BaseException) -> bool:
    """Whether an error, or one it was raised from, says the disk is full.

    SQLite says so with SQLITE_FULL ("database or disk is full"), which eventsourcing wraps in its own
    persistence errors; PostgreSQL with SQLSTATE 53100 (psycopg's DiskFull); writing a file says so with ENOSPC (or
    EDQUOT past a quota).
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sqlite3.Error) and (
            getattr(current, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(current)
        ):
            return True
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if getattr(current, "sqlstate", None) == POSTGRES_DISK_FULL:
            return True
        # eventsourcing wraps the sqlite3 error it caught as its argument as well as its cause.
        wrapped = current.args[0] if current.args and isinstance(current.args[0], BaseException) else None
        current = current.__cause__ or current.__context__ or wrapped
    return False


class ConcurrencyError(Exception):
    """Another writer changed the same record first; read it again and decide anew.

    The event store raises this rather than its library's own error, so that use cases and plugins never depend
    on the storage library.
    """
