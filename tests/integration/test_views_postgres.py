"""The read models' contract (tests/integration/test_views.py) on PostgreSQL, and what only PostgreSQL needs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg
import pytest

from exchange.eventstore.postgres_views import PostgresViews
from exchange.kernel.errors import MalformedError
from exchange.readmodels.queue import QueueQuery, list_queue
from exchange.readmodels.views import ViewsConnection, track, tracked_position
from tests.integration.test_views import SHARED_LOOP, Connect, Market, ViewsContract, use_case_fixture

# The use cases on the in-memory event store, as the contract builds them (fixtures of tests/unit/services).
from tests.unit.services.conftest import authority, clock, make_services, registry  # noqa: F401

# On the loop the use cases' fixtures run on.
pytestmark = SHARED_LOOP


@use_case_fixture
async def connect(postgres_url: str) -> AsyncIterator[Connect]:
    """Connections to one fresh database of the test cluster: a follower's own, or the request side's pool."""
    opened: list[PostgresViews] = []

    async def open_one(*, shared: bool = False) -> ViewsConnection:
        opened.append(await (PostgresViews.pool if shared else PostgresViews.connect)(postgres_url))
        return opened[-1]

    yield open_one
    for connection in opened:
        await connection.close()


class TestViewsOnPostgres(ViewsContract):
    async def test_a_text_with_a_nul_character_is_refused_as_malformed(self, market: Market) -> None:
        """PostgreSQL's text holds no NUL: a query naming one is the caller's error, not the database's."""
        with pytest.raises(MalformedError):
            await list_queue(market.services.views, QueueQuery("LNSP\x00", "pqd", "bpqd"))

    async def test_text_sorts_by_bytes_whatever_the_locale(self, connect: Connect) -> None:
        """Views order text as SQLite does (byte by byte), which keyset paging and the API's sorts rely on."""
        db = await connect()
        await db.executescript("CREATE TABLE IF NOT EXISTS words (word TEXT PRIMARY KEY);")
        await db.executemany("INSERT INTO words VALUES (?)", [("b",), ("B",), ("a",), ("_",), ("A",)])
        rows = await db.execute_fetchall("SELECT word FROM words ORDER BY word")
        assert [row["word"] for row in rows] == sorted(["b", "B", "a", "_", "A"])


async def terminated(victim: ViewsConnection, connect: Connect) -> None:
    """End the server process behind `victim`'s connection, as a restart of PostgreSQL or a dropped network would."""
    (row,) = await victim.execute_fetchall("SELECT pg_backend_pid()")
    killer = await connect(shared=True)
    await killer.execute_fetchall("SELECT pg_terminate_backend(?)", (row[0],))


class TestLostConnections:
    """A follower's connection that the server drops is opened again, but never in the middle of a transaction."""

    async def test_outside_a_transaction_the_statement_after_the_failed_one_runs_on_a_new_connection(
        self, connect: Connect
    ) -> None:
        """The statement that meets the dropped connection fails; the follower's next try works."""
        follower = await connect()
        await terminated(follower, connect)
        with pytest.raises(psycopg.OperationalError):
            await tracked_position(follower, "a-view")
        assert await tracked_position(follower, "a-view") == 0

    async def test_inside_a_transaction_every_statement_fails_until_rollback(self, connect: Connect) -> None:
        """Statements after the loss do not run outside the transaction; after ROLLBACK the batch is done again."""
        follower, reader = await connect(), await connect(shared=True)
        await follower.execute("BEGIN IMMEDIATE")
        await track(follower, "a-view", 5)
        await terminated(follower, connect)
        for _ in range(2):
            with pytest.raises(psycopg.OperationalError):
                await track(follower, "a-view", 6)
        assert follower.in_transaction
        await follower.execute("ROLLBACK")
        assert not follower.in_transaction
        assert await tracked_position(reader, "a-view") == 0
        await follower.execute("BEGIN IMMEDIATE")
        await track(follower, "a-view", 7)
        await follower.execute("COMMIT")
        assert await tracked_position(reader, "a-view") == 7

    async def test_the_request_side_pool_refuses_to_begin_a_transaction(self, connect: Connect) -> None:
        """A transaction over a pool would span whichever connections its statements get: it is refused."""
        pooled = await connect(shared=True)
        with pytest.raises(TypeError):
            await pooled.execute("BEGIN IMMEDIATE")
