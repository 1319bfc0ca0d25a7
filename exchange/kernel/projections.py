"""What the projections of the read side share, here because translog/ and archive/ may import the kernel only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Types only: the kernel does not depend on the read models' adapters.
    from exchange.readmodels.views import ViewsConnection


class ViewsOnly:
    """A projection whose every effect is in its views: nothing to do outside the database before the follower
    records its position (the `act` step of exchange.readmodels.projector's Handler)."""

    async def act(self, events: list[tuple[int, Any]]) -> None:
        """Nothing outside the database."""


class OneRowPerEvent(ViewsOnly):
    """A projection that inserts one row per event into its one table (`tables`), and does nothing else.

    The rows are inserted ON CONFLICT DO NOTHING on a key the event decides, so handling an event again (after a
    crash before the follower recorded its position, or in a rebuild) leaves the table as it was. Such projections
    differ only in their table and in the row an event makes (`row`), so they write only those.
    """

    tables: tuple[str]

    def row(self, position: int, event: Any) -> tuple[Any, ...]:
        """The table's row for the event at `position`, its columns in the table's order."""
        raise NotImplementedError

    async def handle(self, db: ViewsConnection, events: list[tuple[int, Any]]) -> None:
        rows = [self.row(position, event) for position, event in events]
        if rows:
            (table,) = self.tables
            marks = ",".join("?" * len(rows[0]))
            # Table names are constants of the projections, never input.
            await db.executemany(f"INSERT INTO {table} VALUES ({marks}) ON CONFLICT DO NOTHING", rows)  # noqa: S608
