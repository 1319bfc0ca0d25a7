"""The contract between the exchange core and a business function.

A business function is a plugin: it names its resources and who may send and receive them, decodes and checks
the bodies sent to it, and says who receives each accepted message. The core does everything else (access,
signatures, recording, routing, queues). Plugins register under the entry-point group `exchange.functions`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from exchange.kernel.formats import Priority as Priority

if TYPE_CHECKING:
    from eventsourcing.domain import Aggregate


@dataclass(frozen=True)
class Resource:
    """One resource of a business function, e.g. `bpqd` of `pqd`."""

    id: str
    schema_versions: tuple[str, ...]
    sender_roles: frozenset[str]
    receiver_roles: frozenset[str]
    retention_days: int = 2557
    queue_retention_days: int = 10
    # False where messages come only from the function's own operations (recall plans, bids): no generic POST.
    accepts_submissions: bool = True
    # "required": a recipient's DELETE must carry its signature over `messageContextId|payloadSha256` (else 422),
    # so the sender holds proof of receipt. "optional": a signature is checked and kept when given.
    signed_delete: Literal["optional", "required"] = "optional"

    @property
    def latest_schema_version(self) -> str:
        return self.schema_versions[-1]


@dataclass(frozen=True)
class Watermarks:
    low: int
    warn: int
    high: int


class StandingData(Protocol):
    """What a business function may ask the exchange about participants and assets, from `accept`.

    `accept` is pure and runs in a worker thread, so these lookups answer at once from standing data the
    core brought up to date before the call. Operations ask `AsyncStandingData` instead.
    """

    def roles_of(self, participant_id: str) -> frozenset[str] | None:
        """The roles a participant holds, or None when there is no such participant."""
        ...

    def nmi_responsible(self, nmi: str, day: date) -> frozenset[str] | None:
        """Participants (MC and MDP) answering for an NMI on a day; None where no standing data applies."""
        ...

    def nmi_network(self, nmi: str, day: date) -> str | None:
        """The LNSP of an NMI on a day, the only participant its readings may go to; None where no standing data
        applies."""
        ...

    def generating_unit(self, duid: str) -> GeneratingUnitInfo | None:
        """A DUID's owner, station and registered maximum capacity; None for an unknown DUID."""
        ...

    def holders_of(self, roles: frozenset[str]) -> frozenset[str]:
        """Every participant, not suspended, holding one of `roles`: whom `receivingParticipantId: ["*"]` names."""
        ...


class AsyncStandingData(Protocol):
    """Standing data as an operation asks for it: each lookup may first read what changed in the event store."""

    async def roles_of(self, participant_id: str) -> frozenset[str] | None: ...

    async def nmi_responsible(self, nmi: str, day: date) -> frozenset[str] | None: ...

    async def nmi_network(self, nmi: str, day: date) -> str | None: ...

    async def generating_unit(self, duid: str) -> GeneratingUnitInfo | None: ...


@dataclass(frozen=True)
class GeneratingUnitInfo:
    """A DUID's standing data. Its owner can change from a date, so a rule asks `owner_on(day)` for its day."""

    duid: str
    # The owner it was registered to: the owner on every day before its first transfer.
    participant_id: str
    station_id: str
    max_capacity_mw: float
    # (first day, new owner) for each change of ownership, in date order.
    transfers: tuple[tuple[date, str], ...] = ()

    def owner_on(self, day: date) -> str:
        """Who owns the DUID on `day`: the owner of the latest transfer from that day or before."""
        owner = self.participant_id
        for first_day, new_owner in self.transfers:
            if first_day <= day:
                owner = new_owner
        return owner


@dataclass(frozen=True)
class Submission:
    """A submission as the edge received it: the IDX headers, already checked for form, and the body."""

    business_function_id: str
    resource_id: str
    sender_id: str
    priority: Priority
    message_context_id: str
    schema_version: str
    body: bytes


@dataclass(frozen=True)
class Acceptance:
    """What a business function decided about a valid submission."""

    recipients: tuple[str, ...]
    message_id: str
    message_type: str
    # New aggregates of the function's own that the accepted message creates (e.g. a publication kept for the
    # function's queries), committed in the same transaction as the message. Made, never read, in `accept`.
    records: tuple[Aggregate, ...] = ()


class BusinessFunction(Protocol):
    """A business function plugin. `accept` is pure: it reads standing data and never writes."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def entity(self) -> str:
        """The URM entity a token needs for this function's message calls (e.g. `PQD_BPQD`)."""
        ...

    @property
    def resources(self) -> tuple[Resource, ...]: ...

    @property
    def watermark_defaults(self) -> Watermarks: ...

    def accept(self, submission: Submission, standing: StandingData) -> Acceptance:
        """Decode and check the body; raise MalformedBodyError (not JSON) or RuleViolationError (422).

        Also raise RuleViolationError with `requested_recipients` set when the recipients could be read, so
        that the rejection can be logged against them.
        """
        ...


@dataclass(frozen=True)
class SampleOption:
    """An option of `idx sample <bf> <resource>`, given to the maker as the keyword `name`."""

    name: str
    help: str
    kind: Literal["text", "integer", "number"] = "text"
    required: bool = False
    multiple: bool = False
    default: str | int | float | None = None
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    # The option as typed, `--flag`; the name with dashes for underscores when None.
    flag: str | None = None


@dataclass(frozen=True)
class SampleMaker:
    """How `idx sample <bf> <resource>` makes a valid example body of one resource."""

    resource_id: str
    summary: str
    options: tuple[SampleOption, ...]
    # Called with every option by name (a multiple one as a list); answers the body as a participant sends it.
    make: Callable[..., bytes]


@runtime_checkable
class SplitsPublications(Protocol):
    """A business function whose publications `idx publish` splits before signing, one message per recipient group.

    The operator splits its own document before it signs, so every recipient still gets bytes the operator signed.
    """

    def split(self, resource_id: str, body: bytes, owners: Mapping[str, str]) -> list[bytes]:
        """The body as the messages to send; `owners` maps each DUID to its owner. ValueError names what cannot be
        split (e.g. a DUID nobody owns)."""
        ...


@runtime_checkable
class MakesSamples(Protocol):
    """A business function that makes example messages for `idx sample`."""

    def samples(self) -> Sequence[SampleMaker]: ...
