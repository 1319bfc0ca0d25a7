"""The verifiable log: one Merkle tree leaf per fact (accepted, queued, deleted, expired), in event-store order.

A projection like any other: leaves and the tree's perfect blocks are written with the tracked position in one
transaction, and a rebuild from the event store gives the same leaves, so the same roots. Only the signed tree
heads (`log_heads`) are not rebuilt: they are what the hub said at the time, and a log that no longer matches
them has been rewritten.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from certs.tree_heads import tree_head_content
from exchange.domain import merkle
from exchange.domain.messages import Delivery, Message
from exchange.domain.topics import event_class, topic_of
from exchange.kernel.clock import iso
from exchange.kernel.projections import ViewsOnly
from exchange.readmodels.views import ViewsConnection

_SUBMITTED = event_class(Message, "Submitted")
_QUEUED = event_class(Delivery, "Queued")
_REMOVED = event_class(Delivery, "Removed")
_EXPIRED = event_class(Delivery, "Expired")

KINDS = ("accepted", "queued", "deleted", "expired")

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS log_leaves (
    leaf_index INTEGER PRIMARY KEY,
    position INTEGER NOT NULL UNIQUE,
    leaf BLOB NOT NULL,
    leaf_hash BLOB NOT NULL,
    message_context_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    recipient TEXT
);
CREATE INDEX IF NOT EXISTS log_leaves_fact ON log_leaves (message_context_id, kind, recipient);
-- The hash of every perfect, aligned block of 2**level leaves: any proof needs O(log n) of them.
CREATE TABLE IF NOT EXISTS log_nodes (
    level INTEGER NOT NULL,
    block INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, block)
);
-- Removed and Expired events name only their delivery: this says whose message and queue it was.
CREATE TABLE IF NOT EXISTS log_deliveries (
    delivery_id TEXT PRIMARY KEY,
    message_context_id TEXT NOT NULL,
    recipient TEXT NOT NULL
);
-- Who may have proofs of a message's leaves: its sender (all of them) and its recipients (the acceptance, their own).
CREATE TABLE IF NOT EXISTS log_parties (
    message_context_id TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    is_sender INTEGER NOT NULL,
    PRIMARY KEY (message_context_id, participant_id)
);
CREATE TABLE IF NOT EXISTS log_heads (
    tree_size INTEGER PRIMARY KEY,
    root_hash BLOB NOT NULL,
    timestamp TEXT NOT NULL,
    signature TEXT NOT NULL
);
"""


def encode_leaf(fact: dict[str, Any]) -> bytes:
    """The leaf bytes: UTF-8 JSON, keys sorted, no whitespace."""
    return json.dumps(fact, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def recipient_signature(event: Any) -> str | None:
    """The recipient's signature a signed DELETE recorded on its Removed event; None for an unsigned one."""
    signature = getattr(event, "recipient_signature", None)
    return signature if isinstance(signature, str) else None


class MerkleLogProjection(ViewsOnly):
    """Appends a leaf per fact to `log_leaves` and keeps `log_nodes` equal to the tree's perfect blocks."""

    name = "log"
    schema = SCHEMA
    tables = ("log_leaves", "log_nodes", "log_deliveries", "log_parties")
    topics = (
        topic_of(Message, "Submitted"),
        topic_of(Delivery, "Queued"),
        topic_of(Delivery, "Removed"),
        topic_of(Delivery, "Expired"),
    )

    async def handle(self, db: ViewsConnection, events: list[tuple[int, Any]]) -> None:
        # A few statements per batch rather than several per leaf: the other followers wait for the file meanwhile.
        size = await tree_size(db)
        async with db.execute(
            "SELECT position FROM log_leaves WHERE position BETWEEN ? AND ?", (events[0][0], events[-1][0])
        ) as cursor:
            done = {row[0] for row in await cursor.fetchall()}  # handled before by another process on this file
        deliveries = await self._deliveries_left(db, events)
        parties: list[tuple[str, str, int]] = []
        leaves: list[tuple[Any, ...]] = []
        made: dict[tuple[int, int], bytes] = {}
        for position, event in events:
            fact = self._fact(event, deliveries, parties)
            if fact is None or position in done:
                continue
            leaf = encode_leaf(fact)
            blocks = await _appended(db, size, leaf, made)
            leaves.append(
                (size, position, leaf, blocks[0][2], fact["messageContextId"], fact["kind"], fact.get("recipient"))
            )
            made.update({(level, block): digest for level, block, digest in blocks})
            size += 1
        await db.executemany("INSERT INTO log_parties VALUES (?,?,?) ON CONFLICT DO NOTHING", parties)
        await db.executemany(
            "INSERT INTO log_deliveries VALUES (?,?,?) ON CONFLICT DO NOTHING",
            [
                (event.originator_id.hex, event.message_context_id, event.recipient)
                for _, event in events
                if isinstance(event, _QUEUED)
            ],
        )
        await db.executemany("INSERT INTO log_leaves VALUES (?,?,?,?,?,?,?)", leaves)
        await db.executemany("INSERT INTO log_nodes VALUES (?,?,?)", [(*key, digest) for key, digest in made.items()])

    async def _deliveries_left(self, db: ViewsConnection, events: list[tuple[int, Any]]) -> dict[str, tuple[str, str]]:
        """(message, recipient) of every delivery queued in the batch or leaving in it, by delivery id."""
        known = {e.originator_id.hex: (e.message_context_id, e.recipient) for _, e in events if isinstance(e, _QUEUED)}
        wanted = list({e.originator_id.hex for _, e in events if isinstance(e, _REMOVED | _EXPIRED)} - known.keys())
        for start in range(0, len(wanted), 500):  # SQLite bounds the parameters of one statement
            chunk = wanted[start : start + 500]
            async with db.execute(
                "SELECT delivery_id, message_context_id, recipient FROM log_deliveries "  # noqa: S608 - placeholders only
                f"WHERE delivery_id IN ({','.join('?' * len(chunk))})",
                chunk,
            ) as cursor:
                known.update({row[0]: (row[1], row[2]) for row in await cursor.fetchall()})
        return known

    def _fact(
        self, event: Any, deliveries: dict[str, tuple[str, str]], parties: list[tuple[str, str, int]]
    ) -> dict[str, Any] | None:
        if isinstance(event, _SUBMITTED):
            parties.append((event.message_context_id, event.sender_id, 1))
            parties.extend((event.message_context_id, recipient, 0) for recipient in event.recipients)
            return {
                "kind": "accepted",
                "messageContextId": event.message_context_id,
                "payloadSha256": event.payload_sha256,
                "receivedDateTime": iso(event.received_at),
                "initiatingParticipantId": event.sender_id,
                "recipients": sorted(event.recipients),
            }
        if isinstance(event, _QUEUED):
            return {
                "kind": "queued",
                "messageContextId": event.message_context_id,
                "recipient": event.recipient,
                "queuedDateTime": iso(event.queued_at),
            }
        delivery = deliveries.get(event.originator_id.hex)
        if delivery is None:
            return None  # cannot happen: a delivery is queued before it leaves
        if isinstance(event, _REMOVED):
            return {
                "kind": "deleted",
                "messageContextId": delivery[0],
                "recipient": delivery[1],
                "deletedDateTime": iso(event.removed_at),
                "recipientSignature": recipient_signature(event),
            }
        return {
            "kind": "expired",
            "messageContextId": delivery[0],
            "recipient": delivery[1],
            "expiredDateTime": iso(event.expired_at),
        }


async def _appended(
    db: ViewsConnection, index: int, leaf: bytes, made: dict[tuple[int, int], bytes]
) -> list[tuple[int, int, bytes]]:
    """The blocks leaf `index` completes, from the blocks stored before and those `made` in this batch."""

    def appending(lower: merkle.Subtrees) -> list[tuple[int, int, bytes]]:
        return merkle.perfect_blocks(index, leaf, lower)

    needed = merkle.blocks_needed(appending) - made.keys()
    known = {**(await fetch_blocks(db, needed) if needed else {}), **made}
    return appending(lambda level, block: known[(level, block)])


@dataclass(frozen=True)
class Leaf:
    index: int
    leaf: bytes
    message_context_id: str
    kind: str
    recipient: str | None


@dataclass(frozen=True)
class TreeHead:
    tree_size: int
    root_hash: bytes
    timestamp: str
    signature: str

    def signed_text(self) -> bytes:
        return signed_text(self.tree_size, self.root_hash, self.timestamp)


def signed_text(size: int, root: bytes, timestamp: str) -> bytes:
    """What the hub signs for a tree head (see certs.tree_heads)."""
    return tree_head_content(size, base64.b64encode(root).decode(), timestamp)


async def tree_size(db: ViewsConnection) -> int:
    async with db.execute("SELECT coalesce(max(leaf_index) + 1, 0) FROM log_leaves") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def fetch_blocks(db: ViewsConnection, needed: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored hashes of the blocks asked for (a missing one is simply absent), in one statement."""
    wanted = list(needed)
    if not wanted:
        return {}
    rows = ",".join("(?,?)" for _ in wanted)  # O(log n) blocks: far below SQLite's bound on parameters
    async with db.execute(
        f"SELECT level, block, hash FROM log_nodes WHERE (level, block) IN (VALUES {rows})",  # noqa: S608
        [number for pair in wanted for number in pair],
    ) as cursor:
        return {(row[0], row[1]): bytes(row[2]) for row in await cursor.fetchall()}


async def from_blocks(db: ViewsConnection, compute: Callable[[merkle.Subtrees], T]) -> T:
    """Run a computation of the merkle module on the stored blocks: those it needs are read first, O(log n)."""
    known = await fetch_blocks(db, merkle.blocks_needed(compute))
    return compute(lambda level, block: known[(level, block)])


async def find_leaf(db: ViewsConnection, message_context_id: str, kind: str, recipient: str | None) -> Leaf | None:
    try:
        f"{message_context_id}{kind}{recipient}".encode()
    except UnicodeEncodeError:
        return None  # a lone surrogate names no leaf, and SQLite could not even be asked
    async with db.execute(
        "SELECT leaf_index, leaf, message_context_id, kind, recipient FROM log_leaves "
        "WHERE message_context_id = ? AND kind = ? AND recipient IS NOT DISTINCT FROM ? ORDER BY leaf_index LIMIT 1",
        (message_context_id, kind, recipient),
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else Leaf(int(row[0]), bytes(row[1]), row[2], row[3], row[4])


async def party_of(db: ViewsConnection, message_context_id: str, participant_id: str) -> str | None:
    """`sender` or `recipient` of the message, or None when the participant is neither."""
    try:
        f"{message_context_id}{participant_id}".encode()
    except UnicodeEncodeError:
        return None
    async with db.execute(
        "SELECT is_sender FROM log_parties WHERE message_context_id = ? AND participant_id = ?",
        (message_context_id, participant_id),
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else ("sender" if row[0] else "recipient")


async def latest_head(db: ViewsConnection) -> TreeHead | None:
    async with db.execute("SELECT * FROM log_heads ORDER BY tree_size DESC LIMIT 1") as cursor:
        row = await cursor.fetchone()
    return None if row is None else TreeHead(int(row[0]), bytes(row[1]), row[2], row[3])


async def record_head(db: ViewsConnection, head: TreeHead) -> None:
    """Keep a signed tree head; one of the same size signed by another process first stays."""
    await db.execute(
        "INSERT INTO log_heads VALUES (?,?,?,?) ON CONFLICT DO NOTHING",
        (head.tree_size, head.root_hash, head.timestamp, head.signature),
    )
