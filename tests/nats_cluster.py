"""A three-node NATS JetStream cluster of a test's own, with credentials, on free ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from exchange.messaging.cluster import LocalNatsCluster


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[LocalNatsCluster]:
    """Three clustered nats-servers, healthy (their JetStream meta group has a leader), stopped after the test."""
    cluster = LocalNatsCluster(tmp_path / "nats-cluster")
    try:
        cluster.start(timeout=60)
        yield cluster
    finally:
        cluster.stop()
