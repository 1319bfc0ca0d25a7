"""A full disk, however it is reported, is one service error that answers 507 naming storage with Retry-After."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from eventsourcing.persistence import OperationalError
from litestar import Litestar, get
from litestar.exceptions import HTTPException
from litestar.testing import TestClient

from exchange.eventstore import database_errors
from exchange.http.problems import on_http_exception, on_service_error, on_unexpected
from exchange.kernel.errors import (
    DatabaseUnavailableError,
    ServiceError,
    StorageFullError,
    UnavailableError,
    is_storage_full,
)
from tests.problems import assert_problem


def sqlite_full_error(path: Path) -> sqlite3.Error:
    """The error SQLite itself raises when its file may not grow (capped as a full disk caps it)."""
    db = sqlite3.connect(path)
    try:
        db.execute("CREATE TABLE t (blob BLOB)")
        db.execute("PRAGMA max_page_count = 3")
        with pytest.raises(sqlite3.Error) as raised:
            db.execute("INSERT INTO t VALUES (?)", (b"x" * 100_000,))
        return raised.value
    finally:
        db.close()


def test_sqlites_own_full_disk_error_is_recognised(tmp_path: Path) -> None:
    """SQLITE_FULL from a real SQLite file counts as a full disk."""
    error = sqlite_full_error(tmp_path / "capped.sqlite")
    assert error.sqlite_errorcode == sqlite3.SQLITE_FULL
    assert is_storage_full(error)


def test_a_full_disk_wrapped_by_eventsourcing_is_recognised(tmp_path: Path) -> None:
    """eventsourcing re-raises SQLite's error as its own OperationalError; the cause still tells."""
    cause = sqlite_full_error(tmp_path / "capped.sqlite")
    try:
        raise OperationalError(cause) from cause
    except OperationalError as wrapped:
        assert is_storage_full(wrapped)


def test_a_file_write_with_no_space_left_is_recognised() -> None:
    """ENOSPC from writing a file counts as a full disk."""
    assert is_storage_full(OSError(errno.ENOSPC, "No space left on device"))


def test_other_storage_errors_are_not_taken_for_a_full_disk() -> None:
    """A locked database or a missing file is some other failure, not a full disk."""
    assert not is_storage_full(sqlite3.OperationalError("database is locked"))
    assert not is_storage_full(OSError(errno.ENOENT, "No such file or directory"))
    assert not is_storage_full(ValueError("disk"))


@get("/refused")
async def refused() -> None:
    raise StorageFullError("the event store's disk is full; nothing was stored", retry_after=30)


@get("/behind")
async def behind() -> None:
    raise UnavailableError("the queue view is catching up with the event store; try again shortly", retry_after=5)


@get("/untranslated")
async def untranslated() -> None:
    raise sqlite3.OperationalError("database or disk is full")


@pytest.fixture
def client() -> Iterator[TestClient[Litestar]]:
    app = Litestar(
        route_handlers=[refused, behind, untranslated],
        exception_handlers={ServiceError: on_service_error, HTTPException: on_http_exception, Exception: on_unexpected},
    )
    with TestClient(app) as test_client:
        yield test_client


def test_storage_full_is_a_507_storage_problem_with_retry_after(client: TestClient[Litestar]) -> None:
    """The use case's StorageFullError answers 507 `/storage` and says when to try again."""
    response = client.get("/refused")
    assert_problem(response, 507, kind="storage")
    assert response.headers["Retry-After"] == "30"


def test_a_full_disk_no_use_case_translated_is_still_507_not_500(client: TestClient[Litestar]) -> None:
    """A raw SQLite full-disk error reaching the edge answers 507 too, never 500."""
    response = client.get("/untranslated")
    assert_problem(response, 507, kind="storage")
    assert int(response.headers["Retry-After"]) > 0


def test_a_view_that_does_not_catch_up_is_a_503_with_retry_after(client: TestClient[Litestar]) -> None:
    """A read waiting on a follower that keeps failing (e.g. on a full disk) is told to come back, not a 500."""
    response = client.get("/behind")
    assert_problem(response, 503, kind="unavailable")
    assert response.headers["Retry-After"] == "5"


def _as_eventsourcing_raises(error: Exception) -> OperationalError:
    """`error` wrapped as eventsourcing's PostgreSQL datastore wraps psycopg's errors (raised from them)."""
    try:
        raise error
    except Exception as cause:
        try:
            raise OperationalError(str(cause)) from cause
        except OperationalError as wrapped:
            return wrapped


def test_postgresqls_full_disk_is_a_storage_full_error_and_a_lost_server_an_unavailable_one() -> None:
    """DiskFull (SQLSTATE 53100) becomes the 507 error; a refused connection the 503 one; a bug stays itself."""
    full = database_errors.in_own_terms(_as_eventsourcing_raises(psycopg.errors.DiskFull("could not extend file")))
    assert isinstance(full, StorageFullError)
    gone = database_errors.in_own_terms(_as_eventsourcing_raises(psycopg.OperationalError("connection refused")))
    assert isinstance(gone, DatabaseUnavailableError)
    assert not isinstance(gone, StorageFullError)
    assert gone.retry_after is not None and gone.retry_after > 0
    bug = ValueError("a bug")
    assert database_errors.in_own_terms(bug) is bug
