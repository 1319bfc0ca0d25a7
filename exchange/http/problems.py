"""RFC 9457 problem details for every error the HTTP layer answers."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from exchange.kernel.errors import TYPE_BASE, ProblemError

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"


def trace_id() -> str:
    bound = structlog.contextvars.get_contextvars().get("traceId")
    return str(bound) if bound else uuid.uuid4().hex


def problem_response(
    status: int,
    kind: str,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": TYPE_BASE + kind,
        "title": title,
        "status": status,
        "detail": detail,
        "traceId": trace_id(),
    }
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def on_problem(_: Request[Any, Any, Any], problem: ProblemError) -> Response[dict[str, Any]]:
    log.info("request_refused", status=problem.status, kind=problem.kind, detail=problem.detail)
    errors = [{"field": e.field, "message": e.message} for e in problem.errors]
    return problem_response(
        problem.status, problem.kind, problem.title, problem.detail, errors=errors, headers=problem.headers
    )


_KINDS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Missing or invalid bearer token"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("rate-limit", "Too many requests"),
}


def on_http_exception(_: Request[Any, Any, Any], error: HTTPException) -> Response[dict[str, Any]]:
    kind, title = _KINDS.get(error.status_code, ("error", "Error"))
    status = error.status_code
    errors = None
    if isinstance(error, ValidationException) and isinstance(error.extra, list):
        items = [item for item in error.extra if isinstance(item, dict)]
        errors = [{"field": _field(item), "message": str(item.get("message", ""))} for item in items]
        if any(item.get("source") == "body" for item in items):
            # Well-formed JSON that breaks the body's schema is a 422, as for every other rule.
            status, kind, title = 422, "validation", "The request breaks a rule"
    return problem_response(status, kind, title, error.detail, errors=errors, headers=error.headers)


def _field(item: dict[str, Any]) -> str:
    key = str(item.get("key", ""))
    if item.get("source") == "body":
        return "$" if key == "data" else key
    # Litestar names the handler's argument; the client sent the camelCase query parameter.
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


def on_unexpected(_: Request[Any, Any, Any], error: Exception) -> Response[dict[str, Any]]:
    log.exception("request_failed", error=repr(error))
    return problem_response(500, "internal", "Internal error", "the exchange failed; quote the traceId")
