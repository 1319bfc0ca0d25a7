"""Fixtures every kind of test may use: the throw-away PostgreSQL cluster (see tests/postgres.py), and
`--on-postgres`, which runs every `idx serve` the tests start with --database-url on that cluster."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests import harness
from tests.postgres import PostgresCluster, postgres_bin


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One PostgreSQL cluster for the whole session, started on first use and removed at the end."""
    with _started_cluster() as cluster:
        yield cluster


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """The URL of a fresh, empty database of its own for one test."""
    return postgres_cluster.create_database()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--on-postgres",
        action="store_true",
        help="Start each `idx serve` of the tests with --database-url: a fresh database of the throw-away cluster "
        "per data directory (`make test` reruns some end-to-end files so).",
    )


@pytest.fixture(scope="session", autouse=True)
def servers_on_postgres(request: pytest.FixtureRequest) -> Iterator[None]:
    """With --on-postgres, the servers the tests start keep their event store and read models in PostgreSQL."""
    if not request.config.getoption("--on-postgres"):
        yield
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    harness.fresh_database = cluster.create_database
    try:
        yield
    finally:
        harness.fresh_database = None


@pytest.fixture
def own_postgres() -> Iterator[PostgresCluster]:
    """A cluster of one test's own, which the test may stop and start again (`halt`, `start`): stopping the
    session's would fail the tests that share it."""
    with _started_cluster() as cluster:
        yield cluster


@contextmanager
def _started_cluster() -> Iterator[PostgresCluster]:
    """A new cluster, started; removed when the block ends, or at once if it fails to start."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.fail("PostgreSQL is not installed: `make postgres` installs it from the distribution's packages")
    cluster = PostgresCluster(bin_dir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
