"""Letting a caller in: its bearer token, the rate limit of the route it calls, and the entity that route needs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from exchange.eventstore.directory import Directory
from exchange.kernel.clock import Clock
from exchange.kernel.errors import LimitExceededError, RefusedError, SuspendedError
from exchange.services.access import Principal, TokenError, TokenIssuer
from flowcontrol.limits import LimitStore

OPERATOR = "OPERATOR"


@dataclass(eq=False)
class Admission:
    """Verifies tokens, counts requests against the rate limit, checks entities, and knows each caller's roles."""

    tokens: TokenIssuer
    clock: Clock
    directory: Directory
    limits: LimitStore | None = None
    rate_limit: int = 0

    def verify(self, token: str) -> Principal:
        """The principal a bearer token stands for: `TokenError` when it is malformed, forged, expired, given up
        or its client revoked; `SuspendedError` when its participant is suspended.

        Both are read from the standing-data cache, which the revoking and suspending use cases bring up to date
        before they answer: a check on every request that costs no read of the store."""
        principal = self.tokens.verify(token, self._now())
        client = self.directory.client(principal.client_id)
        if client is not None and client.revoked:
            raise TokenError(f"the client {principal.client_id} was revoked")
        participant = self.directory.participant(principal.participant_id)
        if participant is not None and participant.suspended:
            raise SuspendedError(
                f"{principal.participant_id} is suspended: {participant.suspension_reason or 'no reason given'}"
            )
        return principal

    async def admit(self, principal: Principal, route: str, entity: str | None, *, counted: bool = True) -> None:
        """Count the request, then check the entity: a caller over the limit learns nothing about its rights.

        `counted` is False for the web app's own calls: a person's screens are not a system polling the API, and a
        screen that makes a dozen calls per page would otherwise lock its participant's systems out."""
        if counted:
            await self._count(principal, route)
        if entity is not None and not principal.holds(entity):
            raise RefusedError(f"the token does not carry the entity {entity}")

    async def roles_of(self, participant_id: str) -> frozenset[str]:
        """The roles a participant is registered with (none for one that is not registered)."""
        return await asyncio.to_thread(self.directory.roles_of, participant_id) or frozenset()

    async def _count(self, principal: Principal, route: str) -> None:
        """Every request counts in a fixed 60-second window per participant and route template."""
        if self.limits is None or not self.rate_limit or self._is_operator(principal.participant_id):
            return
        retry_after = await self.limits.hit_rate(principal.participant_id, route, self._now(), self.rate_limit)
        if retry_after is not None:
            raise LimitExceededError(
                f"more than {self.rate_limit} requests a minute to {route}",
                retry_after=retry_after,
            )

    def _is_operator(self, participant_id: str) -> bool:
        # Synchronous on purpose: the standing-data cache answers a registered participant from memory.
        return OPERATOR in (self.directory.roles_of(participant_id) or frozenset())

    def _now(self) -> datetime:
        return self.clock.now()
