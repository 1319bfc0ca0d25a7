"""What the projections of the read side share, here because translog/ and archive/ may import the kernel only."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    # Types only: the kernel does not depend on the read models' adapters.
    from exchange.readmodels.views import ViewsConnection


# The columns of a delivery's header, kept alike by the rows of the queues and of the archive.
DELIVERY_HEADER_COLUMNS = """
    recipient TEXT NOT NULL,
    message_context_id TEXT NOT NULL,
    business_function_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    priority TEXT NOT NULL,"""

_CREATED_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)")


def tables_created_by(schema: str) -> tuple[str, ...]:
    """The tables `schema` creates, in its order."""
    return tuple(_CREATED_TABLE.findall(schema))


class ViewsOnly:
    """A projection whose every effect is in its views: nothing to do outside the database before the follower
    records its position (the `act` step of exchange.readmodels.projector's Handler).

    Its `tables` (those a rebuild empties) are by default every table its `schema` creates, read from the schema
    so that the two cannot disagree; a projection whose schema creates a table a rebuild must keep names its own.
    """

    schema: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "schema" in cls.__dict__ and "tables" not in cls.__dict__:
            cls.tables = tables_created_by(cls.schema)

    async def act(self, events: list[tuple[int, Any]]) -> None:
        """Nothing outside the database."""


class OneRowPerEvent(ViewsOnly):
    """A projection that inserts one row per event into its one table (`tables`), and does nothing else.

    The rows are inserted ON CONFLICT DO NOTHING on a key the event decides, so handling an event again (after a
    crash before the follower recorded its position, or in a rebuild) leaves the table as it was. Such projections
    differ only in their table and in the row an event makes (`row`), so they write only those.
    """

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
