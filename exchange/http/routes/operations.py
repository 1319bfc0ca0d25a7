"""Mounting the operations business functions serve themselves (`exchange.functions.services.Operation`)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, Router, route
from litestar.di import Provide
from litestar.params import Parameter

from exchange.functions.errors import RuleViolationError
from exchange.functions.services import Call, Operation
from exchange.http.auth import requires_token
from exchange.http.body import check_json
from exchange.http.openapi import QUERY_ROUTE, problems
from exchange.kernel.errors import InvalidError
from exchange.services.access import Principal
from exchange.services.admission import Admission


def operation_handler(operation: Operation, admission: Admission, name: str) -> Router:
    async def handle(request: Request[Any, Any, Any], principal: Principal) -> Response[Any]:
        roles = await admission.roles_of(principal.participant_id)
        body = await request.body()
        # Plugins decode the body themselves: it is checked here, as Litestar's own JSON is (CheckedJsonRequest).
        await asyncio.to_thread(check_json, body)
        call = Call(principal.participant_id, roles, body, dict(request.query_params), dict(request.headers))
        try:
            answer = await operation.handler(call)
        except RuleViolationError as error:
            raise InvalidError("the request breaks a rule of its business function", errors=error.errors) from error
        if answer.media_type is not None:
            return Response(
                answer.body, status_code=answer.status, media_type=answer.media_type, headers=answer.headers
            )
        return Response(answer.body, status_code=answer.status, headers=answer.headers)

    handler = route(
        operation.path,
        http_method=[operation.method],
        operation_id=name,
        summary=operation.summary,
        status_code=200,
        opt=requires_token(operation.entity),
        dependencies=documented_body(operation.request),
        # The query parameters are the router's, not the handler's, so the OpenAPI plugin does not see them: an
        # operation that reads a query can answer what a query route can (nothing of the caller's by that name).
        responses=problems(*operation.problems, *(QUERY_ROUTE if operation.query or operation.optional_query else ()))
        or None,
    )(handle)
    query = {
        parameter: Parameter(str, query=parameter, required=required, description=description)
        for required, described in ((True, operation.query), (False, operation.optional_query))
        for parameter, description in described.items()
    }
    return Router("/", route_handlers=[handler], parameters=query)


def documented_body(body_type: type | None) -> dict[str, Provide] | None:
    """A dependency that only describes the body: Litestar documents the `data` of a handler's dependencies, and
    never calls one the handler does not take, so the operation still reads (and judges) the raw body itself."""
    if body_type is None:
        return None

    def body(data: Any) -> None:
        raise AssertionError("documents the request body; never called")

    body.__annotations__ = {"data": body_type, "return": None}
    return {"documented_body": Provide(body, sync_to_thread=False)}
