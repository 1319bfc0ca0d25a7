"""Sessions stalled inside a transaction on PostgreSQL: ended by the sweep of any process, so a lease row a paused
process holds locked does not keep another from taking the lease over."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import psycopg
import pytest
from psycopg import AsyncConnection

from exchange.eventstore.postgres_views import (
    APPLICATION_NAME,
    STALLED_SWEEP_EVERY,
    PostgresViews,
    StalledTransactions,
)
from exchange.readmodels.leases import Leases, fence

# Shorter than the exchange's IDLE_TRANSACTION_TIMEOUT, so that the test waits less; the rule is the same.
IDLE_FOR = 0.5


@pytest.fixture(autouse=True)
def named_sessions(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sessions the tests open carry the exchange's name, as `idx serve`'s do (`name_sessions`)."""
    monkeypatch.setenv("PGAPPNAME", APPLICATION_NAME)


@pytest.fixture
async def sweep(postgres_url: str) -> AsyncIterator[StalledTransactions]:
    stalled = StalledTransactions(postgres_url, idle_for=IDLE_FOR)
    yield stalled
    await stalled.stop()


async def silent_session(postgres_url: str, **options: str) -> AsyncConnection[tuple[object, ...]]:
    """A session whose server-side idle timer is off, as psycopg's pipeline leaves it when a Flush follows the
    transaction's last statement."""
    connection = await AsyncConnection.connect(postgres_url, autocommit=True, **options)
    await connection.execute("SET idle_in_transaction_session_timeout = 0")
    return connection


async def idle_in_a_transaction(postgres_url: str, **options: str) -> AsyncConnection[tuple[object, ...]]:
    """A silent session that has begun a transaction and run a statement in it."""
    connection = await silent_session(postgres_url, **options)
    await connection.execute("BEGIN")
    await connection.execute("SELECT 1")
    return connection


async def test_a_lease_row_held_by_a_stalled_transaction_is_taken_over_once_the_sweep_ends_it(
    postgres_url: str, sweep: StalledTransactions
) -> None:
    paused = await PostgresViews.connect(postgres_url)
    await paused.execute("SET idle_in_transaction_session_timeout = 0")
    first = Leases(paused, "paused")
    await first.create_table()
    token = await first.acquire("relay")
    assert token == 1
    # Inside a batch's transaction, the fence holds the lease row; then the process stops talking.
    await paused.execute("BEGIN")
    await fence(paused, "relay", token)

    other = await PostgresViews.connect(postgres_url)
    # The other process's clock is past the lease's expiry, as it is once the paused holder stops renewing.
    second = Leases(other, "other", now_ms=lambda: first.now_ms() + 60_000)
    takeover = asyncio.create_task(second.acquire("relay"))
    await asyncio.sleep(IDLE_FOR * 3)
    assert not takeover.done(), "the takeover did not wait for the row the paused holder locked"

    ended = await sweep.sweep()
    assert len(ended) == 1
    assert await asyncio.wait_for(takeover, timeout=10) == 2
    # The paused holder's late write fails: its session is gone, and with it the batch.
    with pytest.raises(psycopg.OperationalError):
        await paused.execute_fetchall("UPDATE leases SET token = token WHERE name = ?", ("relay",))
    await paused.close()
    await other.close()


async def test_the_sweep_leaves_sessions_working_idle_for_less_than_the_limit_or_not_the_exchanges(
    postgres_url: str, sweep: StalledTransactions
) -> None:
    idle_outside = await silent_session(postgres_url)
    await idle_outside.execute("SELECT 1")
    recent = await idle_in_a_transaction(postgres_url)
    someone_elses = await idle_in_a_transaction(postgres_url, application_name="psql")
    stalled = await idle_in_a_transaction(postgres_url)
    await asyncio.sleep(IDLE_FOR * 2)
    await recent.execute("SELECT 2")  # it is working: its last statement is recent

    ended = await sweep.sweep()
    assert ended == [stalled.info.backend_pid]
    assert (await (await idle_outside.execute("SELECT 3")).fetchone()) == (3,)
    assert (await (await recent.execute("SELECT 4")).fetchone()) == (4,)
    assert (await (await someone_elses.execute("SELECT 5")).fetchone()) == (5,)
    for connection in (idle_outside, recent, someone_elses, stalled):
        await connection.close()


async def test_the_started_sweep_ends_a_stalled_session_by_itself(
    postgres_url: str, sweep: StalledTransactions
) -> None:
    stalled = await idle_in_a_transaction(postgres_url)
    sweep.start()
    await asyncio.sleep(IDLE_FOR + 2 * STALLED_SWEEP_EVERY + 0.5)
    with pytest.raises(psycopg.OperationalError):
        await stalled.execute("SELECT 1")
    await stalled.close()


async def stopped_in_a_pipeline(postgres_url: str, statement: bytes) -> AsyncConnection[tuple[object, ...]]:
    """A session that sent `statement` in a pipeline and then nothing, not even the Sync that ends the pipeline: the
    server runs it and waits to read the rest (as a process paused during `executemany` leaves it)."""
    connection = await silent_session(postgres_url)
    pgconn = connection.pgconn
    pgconn.enter_pipeline_mode()
    pgconn.send_query_params(statement, None)
    pgconn.send_flush_request()
    assert pgconn.flush() == 0, "a statement this short is sent at once"
    return connection


async def backend_states(postgres_url: str, *pids: int) -> dict[int, str]:
    async with await AsyncConnection.connect(postgres_url, autocommit=True) as watcher:
        cursor = await watcher.execute("SELECT pid, state FROM pg_stat_activity WHERE pid = ANY(%s)", (list(pids),))
        return {int(pid): str(state) for pid, state in await cursor.fetchall()}


async def test_a_session_stopped_in_the_middle_of_a_pipeline_after_writing_is_ended_and_a_reader_is_not(
    postgres_url: str, sweep: StalledTransactions
) -> None:
    async with await AsyncConnection.connect(postgres_url, autocommit=True) as setup:
        await setup.execute("CREATE TABLE written (n INTEGER)")
    writer = await stopped_in_a_pipeline(postgres_url, b"INSERT INTO written VALUES (1)")
    reader = await stopped_in_a_pipeline(postgres_url, b"SELECT 1")
    writer_pid, reader_pid = writer.info.backend_pid, reader.info.backend_pid
    await asyncio.sleep(IDLE_FOR * 2)
    assert await backend_states(postgres_url, writer_pid, reader_pid) == {writer_pid: "active", reader_pid: "active"}

    assert await sweep.sweep() == [writer_pid]
    await asyncio.sleep(0.2)  # the server ends the session a moment after the signal
    assert await backend_states(postgres_url, writer_pid, reader_pid) == {reader_pid: "active"}
    for connection in (writer, reader):
        await connection.close()
