"""Bearer tokens at the edge: who is calling, and may they."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from litestar.connection import ASGIConnection

from exchange.http.problems import UnauthorizedError
from exchange.kernel.clock import Clock
from exchange.kernel.errors import LimitExceededError, RefusedError
from exchange.services.access import Principal, TokenError, TokenIssuer
from flowcontrol.limits import LimitStore


class Gate:
    """Verifies the bearer token of a request, counts it against the rate limit, and checks the entity."""

    def __init__(
        self,
        tokens: TokenIssuer,
        clock: Clock,
        limits: LimitStore | None = None,
        rate_limit: int = 0,
        exempt: Callable[[str], bool] = lambda _: False,
    ) -> None:
        self._tokens = tokens
        self._clock = clock
        self._limits = limits
        self._rate_limit = rate_limit
        self._exempt = exempt

    async def principal(self, request: ASGIConnection[Any, Any, Any, Any], entity: str | None = None) -> Principal:
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            token = request.query_params.get("access_token") if str(request.scope["type"]) == "websocket" else None
        if token is None:
            raise UnauthorizedError("send `Authorization: Bearer <token>` from POST /oauth/token")
        try:
            principal = self._tokens.verify(token, self._clock.now())
        except TokenError as error:
            raise UnauthorizedError(str(error)) from error
        structlog.contextvars.bind_contextvars(participantId=principal.participant_id)
        await self._count(request, principal)
        if entity is not None and not principal.holds(entity):
            raise RefusedError(f"the token does not carry the entity {entity}")
        return principal

    async def _count(self, request: ASGIConnection[Any, Any, Any, Any], principal: Principal) -> None:
        """Every request counts in a fixed 60-second window per participant and route template."""
        if self._limits is None or not self._rate_limit or self._exempt(principal.participant_id):
            return
        route = f"{request.scope.get('method', 'WS')} {request.scope.get('path_template', request.url.path)}"
        retry_after = await self._limits.hit_rate(principal.participant_id, route, self._clock.now(), self._rate_limit)
        if retry_after is not None:
            raise LimitExceededError(
                f"more than {self._rate_limit} requests a minute to {route}",
                retry_after=retry_after,
            )


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
