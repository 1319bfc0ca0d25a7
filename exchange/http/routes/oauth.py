"""`POST /oauth/token`: the client credentials grant, answering errors as RFC 6749 says."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec
from litestar import Request, Response, Router, post
from litestar.openapi import ResponseSpec

from exchange.kernel.errors import LimitExceededError
from exchange.services.access import TOKEN_LIFETIME
from exchange.services.participants import Administration, InvalidClientError


class IssuedToken(msgspec.Struct):
    access_token: str
    token_type: str
    expires_in: int
    scope: str


class OAuthError(msgspec.Struct):
    """RFC 6749's error answer (section 5.2), not a problem: OAuth clients read this shape."""

    error: str
    error_description: str


def _oauth_error(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=OAuthError, description=description, generate_examples=False)


ANSWERS = {
    200: ResponseSpec(data_container=IssuedToken, description="A bearer token", generate_examples=False),
    400: _oauth_error("invalid_request or unsupported_grant_type"),
    401: _oauth_error("invalid_client: unknown client or wrong secret"),
    429: _oauth_error("slow_down: too many failed attempts for this client or address (Retry-After)"),
}


def oauth_router(admin: Administration) -> Router:
    @post("/token", status_code=200, summary="Exchange client credentials for a bearer token", responses=ANSWERS)
    async def token(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        form = await request.form()
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = _basic_credentials(request.headers.get("authorization"))
        if basic is not None:
            client_id, secret = basic
        grant_type = form.get("grant_type")
        if grant_type is None or not client_id or not secret:
            return _error(400, "invalid_request", "grant_type, client_id and client_secret are required")
        if grant_type != "client_credentials":
            return _error(400, "unsupported_grant_type", "only client_credentials is supported")
        scope = form.get("scope")
        address = request.client.host if request.client else None
        try:
            issued = await admin.token(
                str(client_id), str(secret), str(scope) if scope is not None else None, address=address
            )
        except InvalidClientError:
            return _error(401, "invalid_client", "unknown client or wrong secret")
        except LimitExceededError as error:
            retry_after = str(max(1, int(error.retry_after)))
            return _error(429, "slow_down", error.detail, headers={"Retry-After": retry_after})
        return Response(
            {
                "access_token": issued.access_token,
                "token_type": "Bearer",
                "expires_in": int(TOKEN_LIFETIME.total_seconds()),
                "scope": " ".join(issued.scopes),
            },
            headers={"Cache-Control": "no-store"},
        )

    return Router(path="/oauth", route_handlers=[token], tags=["access"])


def _error(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    return Response({"error": error, "error_description": description}, status_code=status, headers=headers)


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (client_id, secret) if client_id and secret else None
