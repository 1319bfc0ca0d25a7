"""Bearer tokens at the edge: who is calling, and may they."""

from __future__ import annotations

from typing import Any

import structlog
from litestar.connection import ASGIConnection

from exchange.access import Principal, TokenError, TokenIssuer
from exchange.clock import Clock
from exchange.problems import ForbiddenError, UnauthorizedError


class Gate:
    """Verifies the bearer token of a request and checks the entity a route needs."""

    def __init__(self, tokens: TokenIssuer, clock: Clock) -> None:
        self._tokens = tokens
        self._clock = clock

    def principal(self, request: ASGIConnection[Any, Any, Any, Any], entity: str | None = None) -> Principal:
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            token = request.query_params.get("access_token") if str(request.scope["type"]) == "websocket" else None
        if token is None:
            raise UnauthorizedError("send `Authorization: Bearer <token>` from POST /oauth/token", headers=_challenge())
        try:
            principal = self._tokens.verify(token, self._clock.now())
        except TokenError as error:
            raise UnauthorizedError(str(error), headers=_challenge()) from error
        structlog.contextvars.bind_contextvars(participantId=principal.participant_id)
        if entity is not None and not principal.holds(entity):
            raise ForbiddenError(f"the token does not carry the entity {entity}")
        return principal


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _challenge() -> dict[str, str]:
    return {"WWW-Authenticate": 'Bearer realm="idx"'}
