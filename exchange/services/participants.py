"""Administration: participants, their clients, and the tokens clients exchange their secrets for."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from exchange.domain.outages import Outage
from exchange.domain.participants import CORE_ROLES, Client, Participant
from exchange.eventstore.ledger import GroupCommit, Ledger
from exchange.functions.errors import FieldError
from exchange.functions.registry import Registry
from exchange.kernel.clock import Clock
from exchange.kernel.errors import ConcurrencyError, ConflictError, InvalidError, NotFoundError
from exchange.kernel.formats import PARTICIPANT_ID
from exchange.readmodels.participants import ListedParticipant as ListedParticipant  # what `participants` lists
from exchange.readmodels.participants import ParticipantList
from exchange.services.access import (
    TokenIssuer,
    entity_catalogue,
    granted_scopes,
    hash_secret,
    new_secret,
    secret_matches,
)


class InvalidClientError(Exception):
    """Unknown client or wrong secret."""


@dataclass(frozen=True)
class IssuedClient:
    client_id: str
    client_secret: str
    scopes: list[str]


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    scopes: list[str]


class Administration:
    def __init__(
        self,
        ledger: Ledger,
        committer: GroupCommit,
        tokens: TokenIssuer,
        clock: Clock,
        registry: Registry,
        listed: ParticipantList,
    ) -> None:
        self._ledger = ledger
        self._listed = listed
        self._committer = committer
        self._tokens = tokens
        self._clock = clock
        # Roles and entities are the core's and those of the registered business functions.
        self.roles = CORE_ROLES | registry.roles()
        self.entities = entity_catalogue(registry)

    async def register_participant(self, participant_id: str, name: str, roles: list[str]) -> Participant:
        errors = []
        if not PARTICIPANT_ID.match(participant_id):
            errors.append(FieldError("participantId", f"must match {PARTICIPANT_ID.pattern}"))
        if not name.strip():
            errors.append(FieldError("name", "must not be blank"))
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

    async def add_client(
        self, participant_id: str, scopes: list[str], client_id: str | None = None, secret: str | None = None
    ) -> IssuedClient:
        if await asyncio.to_thread(self._ledger.find, Participant, Participant.create_id(participant_id)) is None:
            raise NotFoundError(f"participant {participant_id} does not exist")
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

    async def token(self, client_id: str, secret: str, scope: str | None) -> IssuedToken:
        client = await asyncio.to_thread(self._ledger.find, Client, Client.create_id(client_id))
        if client is None or not await asyncio.to_thread(secret_matches, secret, client.secret_hash):
            raise InvalidClientError(client_id)
        scopes = granted_scopes(scope, client.scopes)
        token = self._tokens.issue(client.client_id, client.participant_id, scopes, self._clock.now())
        return IssuedToken(access_token=token, scopes=scopes)
