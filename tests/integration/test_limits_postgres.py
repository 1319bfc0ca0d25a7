"""The flow-control counters' contract (tests/unit/flowcontrol/test_limits.py) on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.unit.flowcontrol.test_limits import Connect, LimitStoreContract


class TestLimitStoreOnPostgres(LimitStoreContract):
    @pytest.fixture
    def connect(self, open_counters: Connect) -> Connect:
        """Connections (pools) to one fresh database of the test cluster, as several processes would open."""
        return open_counters
