"""The read side's SQLite database: view tables and the tracked position of each projection."""

from __future__ import annotations

from pathlib import Path

import aiosqlite

SCHEMA = """
CREATE TABLE IF NOT EXISTS tracking (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
"""


async def open_views(path: Path, *, derived_only: bool = False) -> aiosqlite.Connection:
    """A connection to a views file in WAL mode.

    `derived_only` is for the connections of projections, which write only what the event store can give
    again: their commits skip the fsync (`synchronous=NORMAL`). A commit still survives the process being killed,
    and one lost with the machine goes with its tracked position, so the projection handles those events again.
    """
    db = await aiosqlite.connect(path, isolation_level=None)
    db.row_factory = aiosqlite.Row
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute(f"PRAGMA synchronous={'NORMAL' if derived_only else 'FULL'}")
    await db.execute("PRAGMA busy_timeout=10000")
    await db.executescript(SCHEMA)
    return db


async def tracked_position(db: aiosqlite.Connection, name: str) -> int:
    async with db.execute("SELECT position FROM tracking WHERE name = ?", (name,)) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def track(db: aiosqlite.Connection, name: str, position: int) -> None:
    # Never backwards: another process following the same views may have recorded a later position (a handler
    # that skips what that covers relies on it), and a relay replaying from before its position must not undo it.
    await db.execute(
        "INSERT INTO tracking (name, position) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET position = excluded.position WHERE excluded.position > tracking.position",
        (name, position),
    )
