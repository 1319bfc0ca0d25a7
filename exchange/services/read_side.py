"""The read side: searching the transaction log and the outbound archive, and the payloads behind them.

Rows come from the views file the projections keep (`translog/`, `archive/`); payloads from the event store. Who
may see what is decided here: the operator sees every transaction, a participant those it sent or received.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from archive.queries import ArchiveQuery, find_item, list_archive
from exchange.domain.messages import Message
from exchange.eventstore.directory import Directory
from exchange.eventstore.ledger import Ledger
from exchange.kernel.errors import MalformedError, NotFoundError
from exchange.kernel.paging import CursorError, Page
from exchange.readmodels.acknowledgements import Acknowledgement, Acknowledgements
from exchange.readmodels.views import ViewsConnection
from exchange.services.admission import OPERATOR
from exchange.services.mailbox import Fetched
from translog.csv_export import csv_lines
from translog.queries import QueryError, TranslogQuery, Viewer, all_rows, related, search
from translog.reconcile import ReconcileQuery, Reconciliation, reconcile

# What a caller asks of the transaction log or of its archive; whose rows it may see is not its to say.
TranslogSearch = TranslogQuery
ArchiveSearch = ArchiveQuery


class ReadSide:
    """Queries over the read models and the event store. Anything the caller may not see is simply not found."""

    def __init__(
        self, views: ViewsConnection, ledger: Ledger, directory: Directory, acknowledgements: Acknowledgements
    ) -> None:
        self._views = views
        self._acknowledgements = acknowledgements
        self._ledger = ledger
        self._directory = directory

    async def translog(self, participant_id: str, asked: TranslogSearch) -> Page[dict[str, Any]]:
        """One page of the transactions the caller may see; MalformedError for a bad sort or cursor."""
        viewer = await self._viewer(participant_id)
        try:
            return await search(self._views, viewer, asked)
        except QueryError as error:
            raise MalformedError(str(error)) from error

    async def translog_csv(self, participant_id: str, asked: TranslogSearch) -> AsyncIterator[str]:
        """Every matching transaction as CSV lines, checked before the first line so a bad query is still a 400."""
        viewer = await self._viewer(participant_id)
        try:
            await search(self._views, viewer, replace(asked, item_count=1))
        except QueryError as error:
            raise MalformedError(str(error)) from error
        return csv_lines(all_rows(self._views, viewer, asked))

    async def transaction(self, participant_id: str, message_context_id: str) -> dict[str, Any]:
        """The rows of one message the caller may see, and their history."""
        found = await related(self._views, await self._viewer(participant_id), message_context_id)
        if found is None:
            raise NotFoundError(f"no transaction of yours has messageContextId {message_context_id}")
        return found

    async def transaction_payload(self, participant_id: str, message_context_id: str) -> Fetched:
        """A message's payload, for its sender and its receivers only."""
        message = await self._message(message_context_id)
        if message is None or participant_id not in (message.sender_id, *message.recipients):
            raise NotFoundError(f"no payload of yours has messageContextId {message_context_id}")
        return _fetched(message)

    async def acknowledgements(self, participant_id: str, message_context_id: str) -> list[Acknowledgement]:
        """Each recipient's deletion of a message and the signature it gave, for the sender and the operator."""
        found = await self._acknowledgements.of(message_context_id)
        if found is None or (found.sender_id != participant_id and not (await self._viewer(participant_id)).sees_all):
            raise NotFoundError(f"no message of yours has messageContextId {message_context_id}")
        return found.acknowledgements

    async def reconcile(self, query: ReconcileQuery) -> Reconciliation:
        """What the caller sent or received in a range: count, digest of every id, and one page of the ids."""
        try:
            return await reconcile(self._views, query)
        except CursorError as error:
            raise MalformedError(str(error)) from error

    async def archive(self, participant_id: str, asked: ArchiveSearch) -> Page[dict[str, Any]]:
        """Messages delivered to the caller, newest first; MalformedError for a cursor this archive did not give."""
        try:
            return await list_archive(self._views, participant_id, asked)
        except CursorError as error:
            raise MalformedError(str(error)) from error

    async def archived_payload(self, participant_id: str, message_context_id: str) -> Fetched:
        """A payload from the caller's archive, with the hub's re-signature."""
        if await find_item(self._views, participant_id, message_context_id) is None:
            raise NotFoundError(f"{message_context_id} is not in your archive")
        message = await self._message(message_context_id)
        if message is None:
            raise NotFoundError(f"{message_context_id} is not in your archive")
        return _fetched(message)

    async def _viewer(self, participant_id: str) -> Viewer:
        roles = await asyncio.to_thread(self._directory.roles_of, participant_id) or frozenset()
        return Viewer(participant_id, sees_all=OPERATOR in roles)

    async def _message(self, message_context_id: str) -> Message | None:
        return await asyncio.to_thread(self._ledger.find, Message, Message.create_id(message_context_id))


def _fetched(message: Message) -> Fetched:
    return Fetched(message.payload, message.hub_signature, message.signature, message.sender_id)
