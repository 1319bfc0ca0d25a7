"""Who is using the web app: a participant's bearer token, kept in an HttpOnly cookie after sign-in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from litestar.connection import ASGIConnection

from exchange.kernel.clock import Clock
from exchange.services.access import Principal, TokenError, TokenIssuer
from exchange.services.cross_process import SignOuts

COOKIE = "idx_session"


@dataclass(frozen=True)
class Session:
    token: str
    principal: Principal

    @property
    def participant_id(self) -> str:
        return self.principal.participant_id

    def holds(self, entity: str) -> bool:
        return self.principal.holds(entity)


class NotSignedInError(Exception):
    """No session, or one whose token expired: the browser goes to the sign-in screen."""


class MissingEntityError(Exception):
    """The participant's token does not carry the entity a screen needs (Table 3 of the industry test plan)."""

    def __init__(self, entity: str) -> None:
        super().__init__(f"your access does not include {entity}; ask your participant administrator for it")
        self.entity = entity


class ForeignOriginError(Exception):
    """A state-changing request that another site started (cross-site request forgery)."""


class Sessions:
    def __init__(self, tokens: TokenIssuer, clock: Clock, sign_outs: SignOuts) -> None:
        self._tokens = tokens
        self._clock = clock
        self._sign_outs = sign_outs

    def find(self, connection: ASGIConnection[Any, Any, Any, Any]) -> Session | None:
        token = connection.cookies.get(COOKIE)
        if not token:
            return None
        try:
            # Verified on every request, never trusted: a tampered or expired cookie is no session.
            principal = self._tokens.verify(token, self._clock.now())
        except TokenError:
            return None
        return Session(token, principal)

    async def end(self, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        """Sign out: the session's token is refused from now on, by every process of the exchange, not only
        forgotten by this browser."""
        token = connection.cookies.get(COOKIE)
        if token:
            await self._sign_outs.end(token)

    def require(self, connection: ASGIConnection[Any, Any, Any, Any], entity: str | None = None) -> Session:
        session = self.find(connection)
        if session is None:
            raise NotSignedInError
        if entity is not None and not session.holds(entity):
            raise MissingEntityError(entity)
        return session


def check_same_origin(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Refuse a form post or socket that a page of another origin opened (the cookie is SameSite=Strict too)."""
    origin = connection.headers.get("origin")
    if origin is None:
        # Browsers send Origin on every POST and WebSocket; a request without one did not come from another page.
        return
    host = connection.headers.get("host", "")
    if urlsplit(origin).netloc != host:
        raise ForeignOriginError


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: a path of the web app only, never another site."""
    if target and target.startswith("/app") and not target.startswith("//") and "\\" not in target:
        return target
    return "/app"
