"""Real adapters for the integration tests: a ledger on an SQLite file, its group commit, and aggregates to save."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from exchange.domain.messages import Delivery, Message
from exchange.eventstore.ledger import GroupCommit, Ledger

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
) -> Message:
    """A Message aggregate as the submission use case would record it (signature fields are placeholders)."""
    return Message(
        message_context_id=context_id,
        business_function_id=BF,
        resource_id=RESOURCE,
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
