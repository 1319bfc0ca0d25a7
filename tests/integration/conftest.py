"""Real adapters for the integration tests: a ledger on an SQLite file, its group commit, aggregates to save, and a
nats-server."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite
import pytest

from exchange.domain.messages import Delivery, Message
from exchange.eventstore.ledger import GroupCommit, Ledger
from exchange.eventstore.postgres_counters import PostgresCounters
from exchange.messaging.natsserver import EmbeddedNatsServer
from exchange.readmodels.projector import Handler, Projector
from exchange.readmodels.views import open_views

BF = "pqd"
RESOURCE = "bpqd"
T0 = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)


def make_message(
    context_id: str,
    recipients: list[str],
    payload: bytes = b'{"data": {}}',
    priority: str = "Medium",
    sender: str = "MDP1",
    received_at: datetime = T0,
    business_function_id: str = BF,
    resource_id: str = RESOURCE,
) -> Message:
    """A Message aggregate as the submission use case would record it (signature fields are placeholders)."""
    return Message(
        message_context_id=context_id,
        business_function_id=business_function_id,
        resource_id=resource_id,
        sender_id=sender,
        priority=priority,
        message_id=f"msg-{context_id}",
        message_type="BPQD",
        schema_version="1.0",
        recipients=recipients,
        payload=payload,
        payload_sha256=hashlib.sha256(payload).hexdigest(),
        signature="c2lnbmF0dXJl",
        signer_serial="01",
        received_at=received_at,
        receipt="cmVjZWlwdA==",
        hub_signature="aHVi",
    )


def make_delivery(
    context_id: str,
    recipient: str = "LNSP1",
    priority: str = "Medium",
    position: int = 1,
    submitted_at: datetime | None = None,
    business_function_id: str = BF,
    resource_id: str = RESOURCE,
) -> Delivery:
    """A Delivery aggregate as the deliverer records it; `submitted_at` defaults to T0 + position seconds."""
    submitted = submitted_at or T0 + timedelta(seconds=position)
    return Delivery(
        message_context_id=context_id,
        recipient=recipient,
        business_function_id=business_function_id,
        resource_id=resource_id,
        sender_id="MDP1",
        priority=priority,
        message_type="BPQD",
        size=100 + position,
        submitted_at=submitted,
        submission_position=position,
        queued_at=submitted + timedelta(milliseconds=5),
    )


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "events.sqlite"


@pytest.fixture
def ledger(ledger_path: Path) -> Iterator[Ledger]:
    """The exchange's ledger on a fresh SQLite file."""
    opened = Ledger.open_sqlite(ledger_path)
    yield opened
    opened.close()


@pytest.fixture
async def committer(ledger: Ledger) -> AsyncIterator[GroupCommit]:
    """A running group commit over the ledger."""
    group = GroupCommit(ledger)
    group.start()
    yield group
    await group.stop()


@pytest.fixture
async def nats_server(tmp_path: Path) -> AsyncIterator[EmbeddedNatsServer]:
    """A nats-server of the test's own with JetStream stored under its directory, stopped after it."""
    server = EmbeddedNatsServer(tmp_path / "nats")
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


@pytest.fixture
async def views(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    """The read side's database, where the exchange keeps it next to the ledger's file."""
    db = await open_views(tmp_path / "views.sqlite")
    yield db
    await db.close()


class Following:
    """Running projectors over one ledger and views file, as `idx serve` runs them."""

    def __init__(self, ledger: Ledger, views: aiosqlite.Connection) -> None:
        self.ledger = ledger
        self.views = views
        self.projectors: dict[str, Projector] = {}

    async def follow(self, *handlers: Handler) -> list[Projector]:
        started = []
        for handler in handlers:
            projector = Projector(self.ledger, self.views, handler)
            await projector.start()
            self.projectors[handler.name] = projector
            started.append(projector)
        return started

    async def stop(self) -> None:
        for projector in self.projectors.values():
            await projector.stop()


@pytest.fixture
async def following(ledger: Ledger, views: aiosqlite.Connection) -> AsyncIterator[Following]:
    running = Following(ledger, views)
    yield running
    await running.stop()


@pytest.fixture
async def open_counters(postgres_url: str) -> AsyncIterator[Callable[[], Awaitable[PostgresCounters]]]:
    """Opens pools on one fresh database of the test cluster, as several processes would; closed after the test."""
    opened: list[PostgresCounters] = []

    async def open_one() -> PostgresCounters:
        opened.append(await PostgresCounters.open(postgres_url))
        return opened[-1]

    yield open_one
    for counters in opened:
        await counters.close()
