"""Rebuilding a read model from zero: the event store is the record, every view can be made again from it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from archive.projection import ArchiveProjection
from exchange.eventstore.ledger import Ledger
from exchange.readmodels.projector import Projector
from exchange.readmodels.queue import QueueProjection
from exchange.readmodels.views import open_views
from translog.projection import TranslogProjection

REBUILDABLE: dict[str, type[TranslogProjection | ArchiveProjection | QueueProjection]] = {
    "translog": TranslogProjection,
    "archive": ArchiveProjection,
    "queue": QueueProjection,
}


async def rebuild(data_dir: Path, name: str) -> int:
    """Empty one view and replay the whole notification log into it; returns the position reached."""
    handler = REBUILDABLE[name]()
    ledger = await asyncio.to_thread(Ledger.open_sqlite, data_dir / "events.sqlite")
    db = await open_views(data_dir / "views.sqlite")
    try:
        await db.executescript(handler.schema)
        await db.execute("BEGIN IMMEDIATE")
        for table in handler.tables:
            await db.execute(f"DELETE FROM {table}")  # noqa: S608 - table names are constants of the handler
        await db.execute("DELETE FROM tracking WHERE name = ?", (handler.name,))
        await db.execute("COMMIT")
        projector = Projector(ledger, db, handler)
        await projector.prepare()
        return await projector.catch_up()
    finally:
        await db.close()
        ledger.close()
