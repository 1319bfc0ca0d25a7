"""Mounting the operations business functions serve themselves (`exchange.functions.services.Operation`)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, route
from litestar.handlers import HTTPRouteHandler

from exchange.functions.errors import RuleViolationError
from exchange.functions.services import Call, Operation
from exchange.http.auth import requires_token
from exchange.http.body import check_json
from exchange.kernel.errors import InvalidError
from exchange.services.access import Principal
from exchange.services.admission import Admission


def operation_handler(operation: Operation, admission: Admission, name: str) -> HTTPRouteHandler:
    async def handle(request: Request[Any, Any, Any], principal: Principal) -> Response[Any]:
        roles = await admission.roles_of(principal.participant_id)
        body = await request.body()
        # Plugins decode the body themselves: it is checked here, as Litestar's own JSON is (CheckedJsonRequest).
        await asyncio.to_thread(check_json, body)
        call = Call(principal.participant_id, roles, body, dict(request.query_params))
        try:
            answer = await operation.handler(call)
        except RuleViolationError as error:
            raise InvalidError("the request breaks a rule of its business function", errors=error.errors) from error
        return Response(answer.body, status_code=answer.status)

    return route(
        operation.path,
        http_method=[operation.method],
        operation_id=name,
        summary=operation.summary,
        status_code=200,
        opt=requires_token(operation.entity),
    )(handle)
