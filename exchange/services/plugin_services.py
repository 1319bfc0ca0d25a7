"""The core's side of `PluginServices`: the event store, the clock and delivery, lent to business functions."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import date, datetime
from typing import TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from certs.authority import CertificateAuthority
from certs.receipts import receipt_content
from exchange.domain.messages import HubStamp, Message, accepted_message
from exchange.eventstore.directory import Directory
from exchange.eventstore.ledger import GroupCommit, Ledger
from exchange.functions.protocol import AsyncStandingData, GeneratingUnitInfo
from exchange.functions.services import AcceptedMessage, AcceptedQuery, Delivered, Outbound
from exchange.kernel.clock import Clock, iso
from exchange.readmodels.plugin_aggregates import PluginAggregates, PluginMessages

A = TypeVar("A", bound=Aggregate)


class DirectoryLookups:
    """The standing-data cache as operations ask it: a refresh reads the event store, so it runs in a thread."""

    def __init__(self, directory: Directory) -> None:
        self._directory = directory

    async def roles_of(self, participant_id: str) -> frozenset[str] | None:
        await asyncio.to_thread(self._directory.refresh)
        # A participant the cache does not know makes it read again, so this lookup stays off the loop too.
        return await asyncio.to_thread(self._directory.roles_of, participant_id)

    async def nmi_responsible(self, nmi: str, day: date) -> frozenset[str] | None:
        await asyncio.to_thread(self._directory.refresh)
        return self._directory.nmi_responsible(nmi, day)

    async def nmi_network(self, nmi: str, day: date) -> str | None:
        await asyncio.to_thread(self._directory.refresh)
        return self._directory.nmi_network(nmi, day)

    async def generating_unit(self, duid: str) -> GeneratingUnitInfo | None:
        await asyncio.to_thread(self._directory.refresh)
        return self._directory.generating_unit(duid)


class CorePluginServices:
    def __init__(
        self,
        ledger: Ledger,
        committer: GroupCommit,
        directory: Directory,
        authority: CertificateAuthority,
        clock: Clock,
        on_recorded: Callable[[], None],
        listed: PluginAggregates,
        messages: PluginMessages,
    ) -> None:
        self._ledger = ledger
        self._committer = committer
        self._standing = DirectoryLookups(directory)
        self._authority = authority
        self._clock = clock
        self._on_recorded = on_recorded
        self._listed = listed
        self._messages = messages

    @property
    def standing(self) -> AsyncStandingData:
        return self._standing

    def now(self) -> datetime:
        return self._clock.now()

    async def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        return await asyncio.to_thread(self._ledger.find, cls, aggregate_id)

    async def created(self, cls: type[Aggregate], event_name: str) -> list[UUID]:
        return await self._listed.created(cls, event_name)

    async def accepted(self, query: AcceptedQuery) -> list[AcceptedMessage]:
        return await self._messages.accepted(
            query.business_function_id, query.resource_id, query.recipient, before=query.before, limit=query.limit
        )

    async def payload(self, message_context_id: str) -> bytes | None:
        message = await asyncio.to_thread(self._ledger.find, Message, Message.create_id(message_context_id))
        return message.payload if message is not None else None

    async def save(self, *aggregates: Aggregate) -> None:
        await self._committer.save(*aggregates)
        self._on_recorded()

    async def deliver(self, outbound: Outbound, *aggregates: Aggregate) -> Delivered:
        received_at = self._clock.now()
        payload_sha256 = hashlib.sha256(outbound.payload).hexdigest()
        receipt, hub_signature = await asyncio.to_thread(
            lambda: (
                self._authority.sign(receipt_content(outbound.message_context_id, payload_sha256, iso(received_at))),
                self._authority.sign(outbound.payload),
            )
        )
        # Submitted through a web service on a verified token, not with a CMS signature of the sender's: the message
        # has no signature and no signer.
        message = accepted_message(
            outbound,
            HubStamp(received_at, payload_sha256, receipt, hub_signature),
            message_id=outbound.message_context_id,
            message_type=outbound.message_type,
            schema_version="1.0",
            recipients=outbound.recipients,
            payload=outbound.payload,
        )
        await self._committer.save(*aggregates, message)
        self._on_recorded()
        return Delivered(outbound.message_context_id, iso(received_at), payload_sha256, receipt)
