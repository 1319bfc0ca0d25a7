"""The adapters on PostgreSQL while it is stopped: 503's service error at once, and work again once it is back."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime

import pytest

from exchange.domain.messages import Message
from exchange.eventstore.ledger import GroupCommit, Ledger, create_postgres_tables, postgres_persistence
from exchange.eventstore.postgres_counters import PostgresCounters
from exchange.kernel.errors import DatabaseUnavailableError
from flowcontrol.limits import LimitStore
from tests.integration.conftest import make_message
from tests.postgres import PostgresCluster

# The pool's wait for a connection (5 s) and some room on a loaded machine: never eventsourcing's minutes of retries.
FAILS_WITHIN = 15.0
DAY = date(2026, 1, 5)
NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)


async def test_the_group_commit_fails_its_callers_with_503_while_postgres_is_down_and_carries_on(
    own_postgres: PostgresCluster,
) -> None:
    """A save and a read during the outage raise DatabaseUnavailableError; after the start the same ledger works."""
    url = own_postgres.create_database()
    create_postgres_tables(url)
    ledger = Ledger.open(postgres_persistence(url))
    committer = GroupCommit(ledger)
    committer.start()
    try:
        await committer.save(make_message("pqd~bpqd~m~MDP1~before", ["LNSP1"]))
        await asyncio.to_thread(own_postgres.halt)

        lost = make_message("pqd~bpqd~m~MDP1~during", ["LNSP1"])
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailableError) as raised:
            await committer.save(lost)
        assert raised.value.retry_after is not None and raised.value.retry_after > 0
        with pytest.raises(DatabaseUnavailableError):
            await asyncio.to_thread(ledger.find, Message, lost.id)
        with pytest.raises(DatabaseUnavailableError):
            await asyncio.to_thread(ledger.last_position)
        assert time.monotonic() - started < 3 * FAILS_WITHIN

        await asyncio.to_thread(own_postgres.start)
        after = make_message("pqd~bpqd~m~MDP1~after", ["LNSP1"])
        await committer.save(after)
        found = await asyncio.to_thread(ledger.find, Message, after.id)
        assert found is not None and found.message_context_id == "pqd~bpqd~m~MDP1~after"
        assert await asyncio.to_thread(ledger.find, Message, lost.id) is None, "the failed save was stored"
        assert [n.originator_id for n in await asyncio.to_thread(ledger.notifications, 0, 10)].count(after.id) == 1
    finally:
        await committer.stop()
        ledger.close()


async def test_the_counters_answer_503_while_postgres_is_down_and_count_again_once_it_is_back(
    own_postgres: PostgresCluster,
) -> None:
    """take_quota raises DatabaseUnavailableError within the pool's timeout, and counts on the same pool after."""
    counters = await PostgresCounters.open(own_postgres.create_database())
    limits = LimitStore(counters)
    try:
        await limits.create_tables()
        assert await limits.take_quota("MDP1", "Medium", DAY, {"Medium": 2}, now=NOW) is None
        await asyncio.to_thread(own_postgres.halt)
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailableError):
            await limits.take_quota("MDP1", "Medium", DAY, {"Medium": 2}, now=NOW)
        assert time.monotonic() - started < FAILS_WITHIN
        await asyncio.to_thread(own_postgres.start)
        assert await limits.take_quota("MDP1", "Medium", DAY, {"Medium": 2}, now=NOW) is None
        assert await limits.take_quota("MDP1", "Medium", DAY, {"Medium": 2}, now=NOW) is not None, "not counted"
    finally:
        await counters.close()
