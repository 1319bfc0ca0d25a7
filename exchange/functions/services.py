"""What the core lends a business function that serves operations of its own (web services, queries).

A plugin that has more than the four message calls lists `Operation`s; the core mounts each at its path,
checks the caller's token and entity, passes a `Call`, and answers the `Answer` as JSON. The plugin keeps its
own aggregates in the exchange's event store through `PluginServices`, and hands messages to recipients'
queues with `deliver`, in the same transaction as its own events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable
from uuid import UUID

from eventsourcing.domain import Aggregate

from exchange.functions.protocol import AsyncStandingData

A = TypeVar("A", bound=Aggregate)


@dataclass(frozen=True)
class Call:
    """One authenticated request to an operation."""

    participant_id: str
    roles: frozenset[str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)
    # The request's headers by lower-case name (`accept`, say), for an operation that answers in several forms.
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """What the operation answers: a JSON-able body (the core does not wrap it) and a status.

    With `media_type` the body is the answer's bytes as they are (a CSV or zip file, say), sent with `headers`.
    """

    body: Any
    status: int = 200
    media_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    method: Literal["GET", "POST"]
    path: str
    entity: str | None  # None: any valid token will do
    summary: str
    handler: Callable[[Call], Awaitable[Answer]]
    # For the OpenAPI document only: the handler still reads the body and the query itself, so that it names
    # what is wrong in its own way (a recall plan's `Errors`, a bid's field).
    request: type | None = None  # the JSON body's type, a msgspec Struct
    query: Mapping[str, str] = field(default_factory=dict)  # each required query parameter, with its description
    optional_query: Mapping[str, str] = field(default_factory=dict)  # each optional one, with its description
    # The problem statuses it answers beyond those of any call with a token (404 where the caller has nothing by
    # that name, 406 where it answers in several forms), so that the document lists them.
    problems: tuple[int, ...] = ()


@dataclass(frozen=True)
class Outbound:
    """A message a plugin hands to recipients' queues, like an accepted submission of its business function."""

    message_context_id: str
    business_function_id: str
    resource_id: str
    sender_id: str
    priority: str
    message_type: str
    payload: bytes
    recipients: Sequence[str]


@dataclass(frozen=True)
class AcceptedMessage:
    """A message of a business function accepted for one recipient, as `PluginServices.accepted` lists it."""

    message_context_id: str
    sender_id: str
    received_at: datetime
    # The message's place in the event store: later messages have higher positions.
    position: int


@dataclass(frozen=True)
class AcceptedQuery:
    """Which accepted messages `PluginServices.accepted` lists: those of a resource accepted for `recipient`,
    newest first, up to `limit` of them positioned before `before` (for the next page)."""

    business_function_id: str
    resource_id: str
    recipient: str
    before: int | None = None
    limit: int = 100


@dataclass(frozen=True)
class Delivered:
    message_context_id: str
    received_date_time: str
    payload_sha256: str
    receipt: str


class PluginServices(Protocol):
    @property
    def standing(self) -> AsyncStandingData:
        """Standing data, brought up to date from the event store by each lookup."""
        ...

    def now(self) -> datetime:
        """The exchange's one clock (moved by the test clock too)."""
        ...

    async def find(self, cls: type[A], aggregate_id: UUID) -> A | None: ...

    async def created(self, cls: type[Aggregate], event_name: str) -> list[UUID]:
        """Ids of every aggregate of `cls` created with the event `event_name`, oldest first.

        Only for the creation events the function lists (`ListsAggregates`).
        """
        ...

    async def save(self, *aggregates: Aggregate) -> None:
        """Commit the aggregates' new events in one transaction (ConcurrencyError on a concurrent change)."""
        ...

    async def deliver(self, outbound: Outbound, *aggregates: Aggregate) -> Delivered:
        """Commit the aggregates and the message together; the message then travels like any other."""
        ...

    async def accepted(self, query: AcceptedQuery) -> list[AcceptedMessage]:
        """The accepted messages the query asks for. Only for the resources the function lists (`ListsMessages`)."""
        ...

    async def payload(self, message_context_id: str) -> bytes | None:
        """The payload of an accepted message exactly as submitted; None for no such message."""
        ...


@runtime_checkable
class ServesOperations(Protocol):
    """A business function with operations of its own."""

    def operations(self, services: PluginServices) -> Sequence[Operation]: ...


@runtime_checkable
class ListsAggregates(Protocol):
    """A business function that lists aggregates of its own with `PluginServices.created`.

    The exchange keeps a projection of each creation event named here, so listing never reads the whole log.
    """

    @property
    def listed(self) -> Sequence[tuple[type[Aggregate], str]]:
        """(aggregate class, name of its creation event) of every kind of aggregate the function lists."""
        ...


@runtime_checkable
class ListsMessages(Protocol):
    """A business function that reads back the messages accepted for its resources (`PluginServices.accepted`),
    such as a publication whose latest figures a web service answers with.

    The exchange keeps a projection of the accepted messages of the resources named here, per recipient.
    """

    @property
    def listed_messages(self) -> Sequence[str]:
        """Ids of the function's resources whose accepted messages it lists."""
        ...
