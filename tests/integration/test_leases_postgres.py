"""The lease store's contract (test_leases.py) on PostgreSQL, through a connection of the views' shape."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
from psycopg import AsyncConnection

from tests.integration.test_leases import Connect, LeaseStoreContract, Writer


class PostgresWriter:
    """A follower's connection to PostgreSQL: a transaction of its own per batch (psycopg opens one with the
    first statement)."""

    def __init__(self, connection: AsyncConnection[tuple[Any, ...]]) -> None:
        self.connection = connection

    async def begin(self) -> None:
        """Nothing: the next statement opens the transaction."""

    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] | None = None, /) -> Iterable[Any]:
        # The store's SQL holds no literal `?`: each is a parameter.
        cursor = await self.connection.execute(sql.replace("?", "%s"), tuple(parameters or ()))
        return await cursor.fetchall() if cursor.description else []

    async def commit(self) -> None:
        await self.connection.commit()

    async def rollback(self) -> None:
        await self.connection.rollback()


class TestLeaseStoreOnPostgres(LeaseStoreContract):
    @pytest.fixture
    def connect(self, open_counters: Connect) -> Connect:
        return open_counters

    @pytest.fixture
    async def writer(self, postgres_url: str) -> AsyncIterator[Writer]:
        connection = await AsyncConnection.connect(postgres_url)
        await connection.execute("CREATE TABLE rows (n INTEGER)")
        await connection.commit()
        yield PostgresWriter(connection)
        await connection.close()
