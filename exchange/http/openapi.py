"""What the OpenAPI document says beyond what Litestar reads from the handlers' signatures: which routes take a
bearer token, and the RFC 9457 problem answers each route can give.

Both follow from what a route already declares (its `opt`, its method, its path parameters), so the document
cannot drift from the guard and from `problems.py`: `SecurityAndProblems` fills them in as each route is registered.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute

from exchange.http.auth import ENTITY
from exchange.http.problems import PROBLEM_JSON

BEARER = "bearerToken"

# Every route: a malformed query or JSON body (400), headers over the limits (431).
ANY_ROUTE = (400, 431)
# A route behind the guard: no or a bad token (401), the wrong entity or participant (403), over the rate (429).
TOKEN_ROUTE = (401, 403, 429)
# A route that reads a body: over the size limit (413), an encoding we do not decode (415), a broken rule (422).
BODY_ROUTE = (413, 415, 422)
# A route that names a resource in its path: no such resource, or not one of the caller's (404).
PATH_ROUTE = (404,)
# A write behind the guard can meet the state it changes: already there, or changed meanwhile (409).
WRITE_ROUTE = (409,)
# Query parameters of the right type can still break a rule (a window the wrong way round, an unknown id).
QUERY_ROUTE = (404, 422)

_WRITES = {"POST", "PUT", "PATCH", "DELETE"}
_BODIES = {"POST", "PUT", "PATCH"}


class FieldProblem(msgspec.Struct):
    field: str
    message: str


class ProblemDetails(msgspec.Struct, rename="camel"):
    """The body of every error answer (`problems.problem_response`)."""

    type: str
    title: str
    status: int
    detail: str
    trace_id: str
    errors: list[FieldProblem] | None = None


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """`responses=` for a route that can answer each of `statuses` with a problem."""
    return {
        status: ResponseSpec(
            data_container=ProblemDetails,
            media_type=PROBLEM_JSON,
            description="A problem (RFC 9457)",
            generate_examples=False,
        )
        for status in sorted(statuses)
    }


# A message's payload is answered as the bytes it was submitted as (so that its signature still verifies): Litestar
# would call that a string, but it is a JSON document.
JSON_PAYLOAD = {
    200: ResponseSpec(
        data_container=dict[str, Any],
        description="The message's payload: the JSON document its sender submitted",
        generate_examples=False,
    )
}


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="IDX exchange",
        version="1.0.0",
        description="Industry data exchange: signed messages routed into per-participant queues.",
        path="/schema",
        components=Components(
            security_schemes={
                BEARER: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="An access token from POST /oauth/token (client credentials).",
                )
            }
        ),
    )


class SecurityAndProblems(ReceiveRoutePlugin):
    """Gives every HTTP route, as it is registered, its security requirement and its problem answers, keeping any
    answer the route declares itself."""

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        for handler in route.route_handlers:
            if ENTITY in handler.opt:
                handler.security = [{BEARER: []}, *(handler.security or [])]
            handler.responses = {**problems(*_statuses(route, handler)), **(handler.responses or {})}


def _statuses(route: HTTPRoute, handler: HTTPRouteHandler) -> tuple[int, ...]:
    methods = {str(method) for method in handler.http_methods}
    statuses: tuple[int, ...] = ANY_ROUTE
    if ENTITY in handler.opt:
        statuses += TOKEN_ROUTE
        if methods & _WRITES:
            statuses += WRITE_ROUTE
    if methods & _BODIES:
        statuses += BODY_ROUTE
    if route.path_parameters:
        statuses += PATH_ROUTE
    if _query_parameters(handler):
        statuses += QUERY_ROUTE
    return statuses


def _query_parameters(handler: HTTPRouteHandler) -> bool:
    reserved = {"request", "principal", "data", "state", "scope", "headers", "cookies", "query"}
    return any(name not in reserved for name in handler.parsed_fn_signature.parameters)
