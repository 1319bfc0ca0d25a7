"""Bearer tokens at the edge: who is calling, and may they.

A route that needs a token says so in its `opt` (`opt=requires_token("IDX_ADMIN")`, on a handler or a router).
The `authenticate` guard runs before Litestar reads any parameter or body, so a caller without a genuine token gets
401 before anything else; handlers that want the caller declare `principal: Principal` (the `principal`
dependency).
"""

from __future__ import annotations

from typing import Any, cast

import structlog
from litestar.connection import ASGIConnection, WebSocket
from litestar.di import Provide
from litestar.exceptions import WebSocketException
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send

from exchange.http.problems import UnauthorizedError, problem_of
from exchange.kernel.errors import ServiceError
from exchange.services.access import Principal, TokenError
from exchange.services.admission import Admission

ENTITY = "entity"  # the `opt` key: present on every route that needs a token; None when any entity will do
_PRINCIPAL = "idx_principal"  # where the guard leaves the principal in the connection's state
# A key of the ASGI scope that only `in_process` sets: a server builds each scope from the network itself, so no
# request that arrives over a socket can carry it, whatever headers it sends.
_IN_PROCESS = "idx.in_process"


def requires_token(entity: str | None = None) -> dict[str, Any]:
    """Route `opt` for a bearer token that carries `entity` (any valid token when None)."""
    return {ENTITY: entity}


class Gate:
    """The guard of every route that needs a token: verifies it, counts the request, checks the entity."""

    def __init__(self, admission: Admission) -> None:
        self._admission = admission

    async def authenticate(self, connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        if ENTITY not in handler.opt:
            return  # a public route
        try:
            principal = await self.principal(connection, handler.opt[ENTITY])
        except ServiceError as problem:
            if not isinstance(connection, WebSocket):
                raise
            # A browser cannot read why a handshake failed: accept, then close with 4000 + the HTTP status.
            await connection.accept()
            raise WebSocketException(detail=problem.detail[:120], code=4000 + problem_of(problem).status) from problem
        connection.scope["state"][_PRINCIPAL] = principal

    async def principal(self, connection: ASGIConnection[Any, Any, Any, Any], entity: str | None) -> Principal:
        token = bearer_token(connection.headers.get("authorization"))
        if token is None and isinstance(connection, WebSocket):
            token = connection.query_params.get("access_token")
        if token is None:
            raise UnauthorizedError("send `Authorization: Bearer <token>` from POST /oauth/token")
        try:
            principal = self._admission.verify(token)
        except TokenError as error:
            raise UnauthorizedError(str(error)) from error
        structlog.contextvars.bind_contextvars(participantId=principal.participant_id)
        route = f"{connection.scope.get('method', 'WS')} {connection.scope.get('path_template', connection.url.path)}"
        counted = not connection.scope.get(_IN_PROCESS, False)
        await self._admission.admit(principal, route, entity, counted=counted)
        return principal


def in_process(app: ASGIApp) -> ASGIApp:
    """The application as the web app calls it in-process: its requests are not counted against the rate limit.

    The web app reaches the API without a network between them (`exchange/web/api_client.py`); this marks each of
    its requests in the scope, which is where the guard looks, so the exemption cannot be claimed from outside."""

    async def marked(scope: Scope, receive: Receive, send: Send) -> None:
        await app(cast("Scope", {**scope, _IN_PROCESS: True}), receive, send)

    return marked


def authenticated_principal(scope: Scope) -> Principal:
    """The `principal` dependency: the caller the guard let in."""
    principal = scope.get("state", {}).get(_PRINCIPAL)
    if not isinstance(principal, Principal):
        raise RuntimeError(f"{scope['path']} takes a principal but its route has no `opt` {ENTITY!r}")
    return principal


principal_dependency = Provide(authenticated_principal, sync_to_thread=False)


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
