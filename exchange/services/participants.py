"""Administration: participants, their clients, and the tokens clients exchange their secrets for."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from exchange.domain.outages import Outage
from exchange.domain.participants import CORE_ROLES, OPERATOR, Client, Participant
from exchange.eventstore.directory import Directory
from exchange.eventstore.ledger import GroupCommit, Ledger
from exchange.functions.errors import FieldError
from exchange.functions.registry import Registry
from exchange.kernel.clock import Clock
from exchange.kernel.errors import (
    ConcurrencyError,
    ConflictError,
    InvalidError,
    LimitExceededError,
    MalformedError,
    NotFoundError,
)
from exchange.kernel.formats import PARTICIPANT_ID
from exchange.kernel.paging import CursorError, Page
from exchange.readmodels.participants import ListedParticipant as ListedParticipant  # what `participants` lists
from exchange.readmodels.participants import ParticipantList
from exchange.services.access import (
    FailedAttempts,
    TokenIssuer,
    entity_catalogue,
    granted_scopes,
    hash_secret,
    new_secret,
    secret_matches_in_constant_time,
)
from flowcontrol.limits import LimitStore

ACTIVE, SUSPENDED = "Active", "Suspended"
# A company's registered name fits easily; the bound keeps one registration from growing every list it is in.
MAX_NAME_LENGTH = 200


class InvalidClientError(Exception):
    """Unknown client or wrong secret."""


@dataclass(frozen=True)
class IssuedClient:
    client_id: str
    client_secret: str
    scopes: list[str]


@dataclass(frozen=True)
class ClientListing:
    """A client as the operator sees it: never its secret."""

    client_id: str
    scopes: list[str]
    created_at: datetime
    status: str  # "active" or "revoked"


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    scopes: list[str]


async def registered_participant(ledger: Ledger, participant_id: str) -> Participant:
    """The participant registered as `participant_id`, read from the event store; NotFoundError for an unknown one.

    Every use case that acts on one participant (its clients, its certificates) starts here, so that an unknown
    participant gets the same 404 from each of them.
    """
    participant = await asyncio.to_thread(ledger.find, Participant, Participant.create_id(participant_id))
    if participant is None:
        raise NotFoundError(f"participant {participant_id} does not exist")
    return participant


class Administration:
    def __init__(
        self,
        ledger: Ledger,
        committer: GroupCommit,
        tokens: TokenIssuer,
        clock: Clock,
        registry: Registry,
        listed: ParticipantList,
        limits: LimitStore,
        directory: Directory | None = None,
    ) -> None:
        self._ledger = ledger
        # Revocations and suspensions are taken in by the standing-data cache at once, so that admission, which
        # reads only that cache, applies them to the very next request.
        self._directory = directory or Directory(ledger)
        # An address may serve many clients (a participant's gateway, the web app's sign-in): it gets more room.
        self._failed_by_client = FailedAttempts(limits, "client", limit=10)
        self._failed_by_address = FailedAttempts(limits, "address", limit=30)
        self._listed = listed
        self._committer = committer
        self._tokens = tokens
        self._clock = clock
        # Roles and entities are the core's and those of the registered business functions.
        self.roles = CORE_ROLES | registry.roles()
        self.entities = entity_catalogue(registry)

    async def register_participant(self, participant_id: str, name: str, roles: list[str]) -> Participant:
        errors = []
        # fullmatch: `$` alone would let a trailing newline through.
        if not PARTICIPANT_ID.fullmatch(participant_id):
            errors.append(FieldError("participantId", f"must match {PARTICIPANT_ID.pattern}"))
        if not name.strip():
            errors.append(FieldError("name", "must not be blank"))
        elif len(name) > MAX_NAME_LENGTH:
            errors.append(FieldError("name", f"at most {MAX_NAME_LENGTH} characters"))
        if not roles:
            errors.append(FieldError("roles", "names no role"))
        errors.extend(
            FieldError(f"roles[{i}]", f"{role!r} is not one of {sorted(self.roles)}")
            for i, role in enumerate(roles)
            if role not in self.roles
        )
        if errors:
            raise InvalidError("the participant is not valid", errors=errors)
        participant = Participant(participant_id=participant_id, name=name, roles=sorted(set(roles)))
        try:
            await self._committer.save(participant)
        except ConcurrencyError as error:
            raise ConflictError(f"participant {participant_id} already exists") from error
        return participant

    async def participants(self) -> list[ListedParticipant]:
        """Every registered participant, in the order they were registered (a participant just registered too)."""
        return await self._listed.all()

    async def participant_page(self, item_count: int, cursor: str | None) -> Page[ListedParticipant]:
        """A page of the participants in the order they were registered; MalformedError for a foreign cursor."""
        try:
            return await self._listed.page(item_count, cursor)
        except CursorError as error:
            raise MalformedError(str(error)) from error

    async def add_client(
        self, participant_id: str, scopes: list[str], client_id: str | None = None, secret: str | None = None
    ) -> IssuedClient:
        await registered_participant(self._ledger, participant_id)
        self._check_scopes(scopes)
        client_id = client_id or f"{participant_id.lower()}-{secrets.token_hex(4)}"
        secret = secret or new_secret()
        client = Client(
            client_id=client_id,
            participant_id=participant_id,
            secret_hash=await asyncio.to_thread(hash_secret, secret),
            scopes=list(dict.fromkeys(scopes)),
        )
        try:
            await self._committer.save(client)
        except ConcurrencyError as error:
            raise ConflictError(f"client {client_id} already exists") from error
        return IssuedClient(client_id=client_id, client_secret=secret, scopes=client.scopes)

    async def grant(self, client_id: str, scopes: list[str]) -> list[str]:
        """Give a client the entities among `scopes` it does not hold yet; answer the entities it now holds."""
        self._check_scopes(scopes)
        for _ in range(3):
            client = await asyncio.to_thread(self._ledger.find, Client, Client.create_id(client_id))
            if client is None:
                raise NotFoundError(f"client {client_id} does not exist")
            if set(scopes) <= set(client.scopes):
                return list(client.scopes)  # nothing new: no event, so that every start does not add one
            client.grant(list(dict.fromkeys(scopes)))
            try:
                await self._committer.save(client)
            except ConcurrencyError:
                continue  # granted at the same moment by another process: look again
            return list(client.scopes)
        raise ConflictError(f"client {client_id} is being changed; try again")

    def _check_scopes(self, scopes: list[str]) -> None:
        unknown = [
            FieldError(f"scopes[{i}]", f"{s!r} is not an entity")
            for i, s in enumerate(scopes)
            if s not in self.entities
        ]
        if unknown:
            raise InvalidError("the client's scopes are not valid", errors=unknown)

    async def announce_outage(self, detail: str) -> Outage:
        if not detail.strip() or len(detail) > 1000:
            raise InvalidError("the outage is not valid", errors=[FieldError("detail", "1 to 1000 characters")])
        outage = Outage(detail=detail.strip(), announced_at=self._clock.now())
        await self._committer.save(outage)
        return outage

    async def token(self, client_id: str, secret: str, scope: str | None, address: str | None = None) -> IssuedToken:
        """A token for a client's secret. Failed attempts are counted per client id and per address; past the
        limit, both are refused for a while (`LimitExceededError`), so that secrets cannot be guessed."""
        now = self._clock.now()
        counters = [(self._failed_by_client, client_id), *([(self._failed_by_address, address)] if address else [])]
        waits = [wait for counter, key in counters if (wait := await counter.retry_after(key, now)) is not None]
        if waits:
            retry_after = max(waits)
            raise LimitExceededError("too many failed attempts; try again later", retry_after=retry_after)
        client = await asyncio.to_thread(self._ledger.find, Client, Client.create_id(client_id))
        stored = client.secret_hash if client is not None else None
        matches = await asyncio.to_thread(secret_matches_in_constant_time, secret, stored)
        if client is None or not matches or client.revoked:
            for counter, key in counters:
                await counter.failed(key, self._clock.now())
            raise InvalidClientError(client_id)
        scopes = granted_scopes(scope, client.scopes)
        token = self._tokens.issue(client.client_id, client.participant_id, scopes, self._clock.now())
        return IssuedToken(access_token=token, scopes=scopes)

    async def clients(self, participant_id: str) -> list[ClientListing]:
        """The participant's clients, oldest first, revoked ones included."""
        await registered_participant(self._ledger, participant_id)
        await asyncio.to_thread(self._directory.refresh)
        clients = await asyncio.to_thread(self._directory.clients_of, participant_id)
        return [
            ClientListing(c.client_id, list(c.scopes), c.created_on, "revoked" if c.revoked else "active")
            for c in clients
        ]

    async def rotate_secret(self, participant_id: str, client_id: str) -> IssuedClient:
        """A new secret for the client; the old one is refused from the moment this returns."""
        secret = new_secret()
        secret_hash = await asyncio.to_thread(hash_secret, secret)
        client = await self._change_client(participant_id, client_id, lambda c: c.rotate_secret(secret_hash))
        return IssuedClient(client_id=client.client_id, client_secret=secret, scopes=list(client.scopes))

    async def revoke_client(self, participant_id: str, client_id: str) -> None:
        """No new token for the client, and its live tokens are refused from the moment this returns."""
        await self._change_client(participant_id, client_id, lambda c: c.revoke(), revoking=True)

    async def set_status(self, participant_id: str, status: str, reason: str) -> Participant:
        """Suspend a participant or make it active again; `reason` is kept with the change."""
        errors = []
        if status not in (ACTIVE, SUSPENDED):
            errors.append(FieldError("status", f"must be {ACTIVE!r} or {SUSPENDED!r}"))
        if len(reason) > 1000:
            errors.append(FieldError("reason", "at most 1000 characters"))
        if errors:
            raise InvalidError("the status change is not valid", errors=errors)
        for _ in range(3):
            participant = await registered_participant(self._ledger, participant_id)
            if status == SUSPENDED and OPERATOR in participant.roles:
                # Its tokens are the only way back: a suspended operator could make nobody active again.
                raise InvalidError(
                    "the status change is not valid",
                    errors=[FieldError("status", "the market operator cannot be suspended")],
                )
            if participant.suspended == (status == SUSPENDED):
                return participant  # already so: no event
            if status == SUSPENDED:
                participant.suspend(reason)
            else:
                participant.reinstate(reason)
            try:
                await self._committer.save(participant)
            except ConcurrencyError:
                continue
            await asyncio.to_thread(self._directory.refresh)
            return participant
        raise ConflictError(f"participant {participant_id} is being changed; try again")

    async def participant(self, participant_id: str) -> Participant:
        """A participant with its roles and status; NotFoundError for an unknown one."""
        return await registered_participant(self._ledger, participant_id)

    async def _change_client(
        self, participant_id: str, client_id: str, change: Callable[[Client], None], *, revoking: bool = False
    ) -> Client:
        for _ in range(3):
            client = await asyncio.to_thread(self._ledger.find, Client, Client.create_id(client_id))
            if client is None or client.participant_id != participant_id:
                raise NotFoundError(f"participant {participant_id} has no client {client_id}")
            if client.revoked:
                if revoking:
                    return client  # revoked already: revoking again changes nothing
                raise ConflictError(f"client {client_id} is revoked")
            change(client)
            try:
                await self._committer.save(client)
            except ConcurrencyError:
                continue  # changed at the same moment by another request: look again
            await asyncio.to_thread(self._directory.refresh)
            return client
        raise ConflictError(f"client {client_id} is being changed; try again")
