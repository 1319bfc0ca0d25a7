"""The read models' contract, written once and run on every backend of the views (SQLite here; PostgreSQL in
tests/integration/test_views_postgres.py): each projection writes what its queries read back, the tracked
positions hold, and creating the tables again, or from two connections at once, changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any, Protocol

import pytest

from archive.projection import ArchiveProjection
from archive.queries import ArchiveQuery, find_item, list_archive
from exchange.kernel.paging import encode_cursor
from exchange.messaging.notifications import Notifier
from exchange.readmodels.merkle_log import find_leaf, party_of
from exchange.readmodels.projector import Projector
from exchange.readmodels.rebuild import REBUILDABLE
from exchange.readmodels.views import ViewsConnection, open_views, track, tracked_position

# The use cases on the in-memory event store (fixtures of tests/unit/services), with their views on the backend.
from tests.unit.services.conftest import (  # noqa: F401
    SHARED_LOOP,
    BuildServices,
    Market,
    Member,
    authority,
    clock,
    make_services,
    registry,
    use_case_fixture,
)
from translog.projection import TranslogProjection
from translog.queries import QueryError, TranslogQuery, Viewer, related, search
from translog.reconcile import ReconcileQuery, reconcile

# On the loop the use cases' fixtures run on.
pytestmark = SHARED_LOOP


class Connect(Protocol):
    """Opens another connection to the one fresh views database of a test: a follower's, or the request side's."""

    def __call__(self, *, shared: bool = False) -> Awaitable[ViewsConnection]: ...


OPERATOR = Viewer("OPERATOR", sees_all=True)
# Every schema script the exchange runs on the views: the rebuildable read models and the notifier's sequences.
SCHEMAS = [model.schema for model in REBUILDABLE.values()] + [Notifier.schema]


class ViewsContract:
    """What the read side needs of its database on any backend; subclasses provide the `connect` fixture."""

    @use_case_fixture
    async def market(self, make_services: BuildServices, connect: Connect) -> Market:
        """The use cases with their views (and the queue projector's connection) on the backend under test."""
        return Market(await make_services(views=await connect(shared=True), queue_views=await connect()))

    @use_case_fixture
    async def views(self, market: Market) -> ViewsConnection:
        return market.services.views

    @staticmethod
    async def followed(market: Market, connect: Connect, *handlers: Any) -> None:
        """Run followers `start_exchange` starts (translog, archive) up to the head of the log, each on a
        connection of its own."""
        for handler in handlers:
            projector = Projector(market.services.ledger, await connect(), handler)
            await projector.prepare()
            await projector.catch_up()
            await projector.stop()

    @staticmethod
    async def exchanged(market: Market) -> tuple[Member, Member, str, str]:
        """An MC's two messages to an LNSP, High then Low, both delivered, the High one then deleted."""
        sender, recipient = await market.mc_and_lnsp()
        deleted = await market.send(sender, recipient, priority="High")
        kept = await market.send(sender, recipient, priority="Low")
        await market.delete(recipient, deleted)
        return sender, recipient, deleted, kept

    async def test_the_queue_lists_what_was_delivered_and_not_what_was_deleted(self, market: Market) -> None:
        """A delivered message is listed in its recipient's queue until the recipient deletes it."""
        sender, recipient = await market.mc_and_lnsp()
        high = await market.send(sender, recipient, priority="Low")
        low = await market.send(sender, recipient, priority="High")
        assert await market.queued(recipient) == [low, high]
        await market.delete(recipient, low)
        assert await market.queued(recipient) == [high]
        page = await market.services.mailbox.list(recipient.participant_id, "pqd", "bpqd")
        assert page.total_records == 1 and page.items[0].initiating_participant_id == sender.participant_id

    async def test_the_queue_pages_with_a_cursor(self, market: Market) -> None:
        """One item per page: the cursor of the first page leads to the second, and the second ends the list."""
        sender, recipient = await market.mc_and_lnsp()
        sent = [await market.send(sender, recipient) for _ in range(2)]
        await market.caught_up()
        first = await market.services.mailbox.list(recipient.participant_id, "pqd", "bpqd", item_count=1)
        assert first.next_cursor is not None
        second = await market.services.mailbox.list(
            recipient.participant_id, "pqd", "bpqd", item_count=1, cursor=first.next_cursor
        )
        assert [first.items[0].message_context_id, second.items[0].message_context_id] == sent
        assert second.next_cursor is None

    async def test_the_transaction_log_follows_each_delivery(
        self, market: Market, connect: Connect, views: ViewsConnection
    ) -> None:
        """Submission, queueing and deletion show in the rows and the history of the transaction log."""
        sender, recipient, deleted, kept = await self.exchanged(market)
        await self.followed(market, connect, TranslogProjection())
        page = await search(views, OPERATOR, TranslogQuery(sort="createdDateTime"))
        assert [(r["messageContextId"], r["status"]) for r in page.items] == [(deleted, "removed"), (kept, "completed")]
        assert page.total_records == 2
        history = await related(views, Viewer(recipient.participant_id, sees_all=False), deleted)
        assert history is not None
        assert [h["status"] for h in history["history"]] == ["delivery_pending", "completed", "removed"]
        reconciled = await reconcile(views, ReconcileQuery(sender.participant_id, "sent"))
        assert reconciled.count == 2 and sorted(reconciled.page.items) == sorted([deleted, kept])

    async def test_the_transaction_log_sorts_by_priority_with_rows_that_have_none_last(
        self, market: Market, connect: Connect, views: ViewsConnection
    ) -> None:
        """Sorting by priority pages High before Low, then the flow-control rows that have no priority."""
        _, recipient, deleted, kept = await self.exchanged(market)
        await market.services.flow.switch(recipient.participant_id, "pqd", "Stopped")
        await self.followed(market, connect, TranslogProjection())
        seen, cursor = [], None
        while True:
            page = await search(views, OPERATOR, TranslogQuery(sort="priority", item_count=1, cursor=cursor))
            seen += [r["messageContextId"] or r["messageType"] for r in page.items]
            if (cursor := page.next_cursor) is None:
                break
        assert seen == [deleted, kept, "flowControl"]

    async def test_a_cursor_of_the_wrong_kind_is_refused_as_a_query_error(
        self, market: Market, connect: Connect, views: ViewsConnection
    ) -> None:
        """A cursor made for a text sort, handed to a sort by a number, is a caller's error on every backend."""
        await self.followed(market, connect, TranslogProjection())
        with pytest.raises(QueryError):
            await search(views, OPERATOR, TranslogQuery(sort="size", cursor=encode_cursor("x", 1, "t")))

    async def test_the_archive_keeps_what_was_delivered(
        self, market: Market, connect: Connect, views: ViewsConnection
    ) -> None:
        """Both deliveries are in the recipient's archive, newest first, the deleted one included."""
        _, recipient, deleted, kept = await self.exchanged(market)
        await self.followed(market, connect, ArchiveProjection())
        page = await list_archive(views, recipient.participant_id, ArchiveQuery())
        assert [item["messageContextId"] for item in page.items] == [kept, deleted]
        found = await find_item(views, recipient.participant_id, deleted)
        assert found is not None and found["priority"] == "High"
        assert await find_item(views, "SOMEONE-ELSE", deleted) is None

    async def test_the_verifiable_log_finds_the_leaves_of_a_message(
        self, market: Market, views: ViewsConnection
    ) -> None:
        """The accepted leaf (no recipient) and the deleted leaf (the recipient's) are found, with each party."""
        sender, recipient, deleted, _ = await self.exchanged(market)
        head = await market.services.verifiable_log.sign_tree_head()
        assert head.tree_size > 0
        accepted = await find_leaf(views, deleted, "accepted", None)
        removed = await find_leaf(views, deleted, "deleted", recipient.participant_id)
        assert accepted is not None and removed is not None and accepted.index < removed.index
        assert await party_of(views, deleted, sender.participant_id) == "sender"
        assert await party_of(views, deleted, recipient.participant_id) == "recipient"

    async def test_flow_history_lists_a_manual_stop(self, market: Market) -> None:
        """A manual stop and the start after it are recorded: the flag survives the round trip through the views."""
        _, recipient = await market.mc_and_lnsp()
        await market.services.flow.switch(recipient.participant_id, "pqd", "Stopped")
        await market.services.flow.switch(recipient.participant_id, "pqd", "Started")
        changes = await market.services.flow.history(recipient.participant_id, "pqd", None, None)
        assert [c.manual_stop for c in changes] == [True, False]

    async def test_a_tracked_position_is_seen_by_every_connection(self, connect: Connect) -> None:
        """A position tracked and committed on one connection is read on another, and a later one replaces it."""
        writer, reader = await connect(), await connect(shared=True)
        assert await tracked_position(reader, "a-view") == 0
        for position in (7, 2**40):
            await writer.execute("BEGIN IMMEDIATE")
            await track(writer, "a-view", position)
            await writer.execute("COMMIT")
            assert await tracked_position(reader, "a-view") == position

    async def test_a_rolled_back_batch_leaves_no_trace(self, connect: Connect) -> None:
        """What a follower wrote before ROLLBACK is gone, its position too."""
        writer, reader = await connect(), await connect(shared=True)
        await writer.execute("BEGIN IMMEDIATE")
        await track(writer, "a-view", 5)
        assert writer.in_transaction
        await writer.execute("ROLLBACK")
        assert not writer.in_transaction
        assert await tracked_position(reader, "a-view") == 0

    async def test_creating_the_tables_again_changes_nothing(
        self, market: Market, connect: Connect, views: ViewsConnection
    ) -> None:
        """A second start runs every schema script again: the rows written before are all still there."""
        _, recipient, _, kept = await self.exchanged(market)
        await self.followed(market, connect, TranslogProjection(), ArchiveProjection())
        before = await self.counts(views)
        again = await connect()
        for schema in SCHEMAS:
            await again.executescript(schema)
        assert await self.counts(views) == before
        assert before["queue_items"] == 1 and before["translog_rows"] == 2
        assert await market.queued(recipient) == [kept]

    async def test_two_connections_creating_the_tables_at_once_both_succeed(self, connect: Connect) -> None:
        """Processes starting together create the same tables at the same moment without an error."""
        first, second = await connect(), await connect()

        async def create(db: ViewsConnection) -> None:
            for schema in SCHEMAS:
                await db.executescript(schema)

        await asyncio.gather(create(first), create(second))
        assert await self.counts(first) == dict.fromkeys(self.tables(), 0)

    @staticmethod
    def tables() -> list[str]:
        return [table for model in REBUILDABLE.values() for table in model.tables]

    async def counts(self, db: ViewsConnection) -> dict[str, int]:
        counts = {}
        for table in self.tables():
            async with db.execute(f"SELECT count(*) FROM {table}") as cursor:
                row = await cursor.fetchone()
            counts[table] = int(row[0]) if row else 0
        return counts


class TestViewsOnSqlite(ViewsContract):
    @use_case_fixture
    async def connect(self, tmp_path: Path) -> AsyncIterator[Connect]:
        """Connections to one views file, as `idx serve` opens them."""
        opened: list[ViewsConnection] = []

        async def open_one(*, shared: bool = False) -> ViewsConnection:
            opened.append(await open_views(tmp_path / "views.sqlite"))
            return opened[-1]

        yield open_one
        for connection in opened:
            await connection.close()
