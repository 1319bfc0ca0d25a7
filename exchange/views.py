"""The read side's SQLite database: view tables and the tracked position of each projection."""

from __future__ import annotations

from pathlib import Path

import aiosqlite

SCHEMA = """
CREATE TABLE IF NOT EXISTS tracking (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS queue_items (
    delivery_id TEXT NOT NULL UNIQUE,
    recipient TEXT NOT NULL,
    message_context_id TEXT NOT NULL,
    business_function_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    priority TEXT NOT NULL,
    priority_rank INTEGER NOT NULL,
    message_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    submitted_at TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (recipient, message_context_id)
);
-- The list call filters on the queue (recipient, function, resource) and orders by priority, then submission.
CREATE INDEX IF NOT EXISTS queue_items_order
    ON queue_items (recipient, business_function_id, resource_id, priority_rank, position);
"""


async def open_views(path: Path) -> aiosqlite.Connection:
    db = await aiosqlite.connect(path, isolation_level=None)
    db.row_factory = aiosqlite.Row
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA synchronous=FULL")
    await db.execute("PRAGMA busy_timeout=10000")
    await db.executescript(SCHEMA)
    return db


async def tracked_position(db: aiosqlite.Connection, name: str) -> int:
    async with db.execute("SELECT position FROM tracking WHERE name = ?", (name,)) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def track(db: aiosqlite.Connection, name: str, position: int) -> None:
    await db.execute(
        "INSERT INTO tracking (name, position) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        (name, position),
    )
