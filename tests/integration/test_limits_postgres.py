"""The flow-control counters' contract (tests/unit/flowcontrol/test_limits.py) on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from exchange.eventstore.postgres_counters import PostgresCounters
from flowcontrol.limits import CounterDatabase
from tests.unit.flowcontrol.test_limits import Connect, LimitStoreContract


class TestLimitStoreOnPostgres(LimitStoreContract):
    @pytest.fixture
    async def connect(self, postgres_url: str) -> AsyncIterator[Connect]:
        """Connections (pools) to one fresh database of the test cluster, as several processes would open."""
        opened: list[PostgresCounters] = []

        async def open_one() -> CounterDatabase:
            counters = await PostgresCounters.open(postgres_url)
            opened.append(counters)
            return counters

        yield open_one
        for counters in opened:
            await counters.close()
