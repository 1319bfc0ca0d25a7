"""The HTTP application: every route of the API, built around one running Exchange."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import structlog
from litestar import Litestar
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Receive, Scope, Send

from exchange.functions.services import ServesOperations
from exchange.http.auth import Gate, principal_dependency
from exchange.http.body import MAX_BODY, CheckedJsonRequest
from exchange.http.limits import limit_headers
from exchange.http.openapi import SecurityAndProblems, openapi_config
from exchange.http.problems import on_http_exception, on_service_error, on_unexpected
from exchange.http.routes.admin import admin_router
from exchange.http.routes.archive import archive_router
from exchange.http.routes.catalogue import catalogue_router
from exchange.http.routes.certificates import certificates_router
from exchange.http.routes.clock import clock_router
from exchange.http.routes.events import events_handler
from exchange.http.routes.flowcontrol import flowcontrol_router, watermarks_router
from exchange.http.routes.health import health_handler
from exchange.http.routes.messages import messages_router
from exchange.http.routes.metrics import metrics_handler
from exchange.http.routes.oauth import oauth_router
from exchange.http.routes.operations import operation_handler
from exchange.http.routes.translog import translog_router
from exchange.http.routes.verifiable_log import verifiable_log_router
from exchange.kernel.errors import ServiceError
from exchange.web.routes import close_api, web_app

if TYPE_CHECKING:
    from exchange.bootstrap import Exchange


def bind_request_context(app: ASGIApp) -> ASGIApp:
    """Each request logs with a traceId of its own (and later the participant and message it concerns)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(traceId=uuid.uuid4().hex)
        await app(scope, receive, send)

    return middleware


def create_app(exchange: Exchange, *, on_shutdown: list[Any] | None = None) -> Litestar:
    routes: list[Any] = [
        health_handler(exchange.health),
        oauth_router(exchange.admin),
        admin_router(exchange.admin, exchange.standing),
        certificates_router(exchange.certificates),
        catalogue_router(exchange.registry),
    ]
    if exchange.settings.metrics_bind is None:
        routes.append(metrics_handler(exchange.metrics))
    routes += [
        translog_router(exchange.read_side, exchange.verifiable_log),
        verifiable_log_router(exchange.verifiable_log, exchange.evidence),
        archive_router(exchange.read_side),
        events_handler(exchange.event_feed),
        flowcontrol_router(exchange.flow),
        watermarks_router(exchange.flow),
    ]
    web = web_app(
        exchange.tokens,
        exchange.clock,
        exchange.sign_outs,
        exchange.event_feed,
        exchange.settings.environment,
        exchange.registry,
        exchange.metrics,
    )
    routes += web.routes
    if exchange.settings.test_clock:
        routes.append(clock_router(exchange.clock))
    for function in exchange.registry:
        for resource in function.resources:
            routes.append(messages_router(function, resource, exchange.submissions, exchange.mailbox))
        if isinstance(function, ServesOperations):
            for index, operation in enumerate(function.operations(exchange.plugin_services)):
                name = f"{function.id}_{operation.handler.__name__}_{index}"
                routes.append(operation_handler(operation, exchange.admission, name))
    return Litestar(
        route_handlers=routes,
        # Routes that need a token say so in their `opt`; the guard runs before any parameter or body is read.
        guards=[Gate(exchange.admission).authenticate],
        dependencies={"principal": principal_dependency},
        middleware=[bind_request_context, limit_headers],
        exception_handlers={ServiceError: on_service_error, HTTPException: on_http_exception, Exception: on_unexpected},
        openapi_config=openapi_config(),
        plugins=[SecurityAndProblems()],
        # Gzip bodies are capped again once decompressed; this only stops oversized uploads early.
        request_max_body_size=MAX_BODY + MAX_BODY // 10,
        request_class=CheckedJsonRequest,
        template_config=web.templates,
        on_shutdown=[close_api, *(on_shutdown or [])],
    )


def create_metrics_app(exchange: Exchange) -> Litestar:
    """`/metrics` alone, for the listener of `--metrics-bind`: the scraper's port, apart from the public one."""
    return Litestar(
        route_handlers=[metrics_handler(exchange.metrics)],
        exception_handlers={ServiceError: on_service_error, HTTPException: on_http_exception, Exception: on_unexpected},
        openapi_config=None,
    )
