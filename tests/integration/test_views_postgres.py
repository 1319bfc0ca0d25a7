"""The read models' contract (tests/unit/services/test_views.py) on PostgreSQL, and what only PostgreSQL needs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from exchange.eventstore.postgres_views import PostgresViews
from exchange.kernel.errors import MalformedError
from exchange.readmodels.queue import QueueQuery, list_queue
from exchange.readmodels.views import ViewsConnection

# The use cases on the in-memory event store, as the contract builds them (fixtures of tests/unit/services).
from tests.unit.services.conftest import Market, authority, clock, make_services, registry  # noqa: F401
from tests.unit.services.test_views import Connect, ViewsContract


class TestViewsOnPostgres(ViewsContract):
    @pytest.fixture
    async def connect(self, postgres_url: str) -> AsyncIterator[Connect]:
        """Connections to one fresh database of the test cluster: a follower's own, or the request side's pool."""
        opened: list[PostgresViews] = []

        async def open_one(*, shared: bool = False) -> ViewsConnection:
            opened.append(await (PostgresViews.pool if shared else PostgresViews.connect)(postgres_url))
            return opened[-1]

        yield open_one
        for connection in opened:
            await connection.close()

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
