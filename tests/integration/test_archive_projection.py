"""The outbound archive's projection writes a batch's deliveries in few statements, in its follower's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any, cast

import aiosqlite

from archive.projection import ArchiveProjection
from exchange.domain.retention import ArchivePurge
from exchange.eventstore.ledger import GroupCommit, Ledger
from exchange.readmodels.projector import Projector
from exchange.readmodels.views import ViewsConnection
from tests.integration.conftest import BF, T0, make_delivery


class StatementLog:
    """The views connection, noting each statement it is given: its first words and how many rows it runs for."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self.statements: list[tuple[str, int]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    def execute(self, sql: str, parameters: Iterable[Any] | None = None, /) -> Any:
        self.statements.append((_opening(sql), 1))
        return self._db.execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Iterable[Any]], /) -> Any:
        rows = list(parameters)
        self.statements.append((_opening(sql), len(rows)))
        return self._db.executemany(sql, rows)


def _opening(sql: str) -> str:
    return " ".join(sql.split()[:3])


async def test_a_batch_inserts_its_deliveries_in_one_statement_per_run_between_purges(
    ledger: Ledger, committer: GroupCommit, views: aiosqlite.Connection
) -> None:
    """Deliveries queued one after another go in with one statement; a purge in the same batch keeps its place,
    so it removes a delivery queued before it, and all of it commits with the tracked position."""
    kept, purged, after = (make_delivery(f"ctx-{n}", position=n) for n in (1, 2, 3))
    await committer.save(kept)
    await committer.save(purged)
    await committer.save(ArchivePurge(BF, [purged.id.hex], T0, T0 + timedelta(days=1)))
    await committer.save(after)
    statements = StatementLog(views)
    projector = Projector(ledger, cast(ViewsConnection, statements), ArchiveProjection())
    await projector.prepare()
    statements.statements.clear()

    await projector.catch_up()

    assert statements.statements == [
        ("BEGIN IMMEDIATE", 1),
        ("INSERT INTO archive_items", 2),
        ("DELETE FROM archive_items", 1),
        ("INSERT INTO archive_items", 1),
        ("INSERT INTO tracking", 1),
        ("COMMIT", 1),
    ]
    async with views.execute("SELECT message_context_id FROM archive_items ORDER BY position") as cursor:
        assert [row[0] for row in await cursor.fetchall()] == ["ctx-1", "ctx-3"]
