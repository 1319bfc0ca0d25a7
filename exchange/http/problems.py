"""RFC 9457 problem details: the one place where errors become HTTP statuses and problem types."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from exchange.kernel import errors as service_errors
from exchange.kernel.errors import ServiceError, is_storage_full

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://idx.example/problems/"


class UnauthorizedError(ServiceError):
    """A missing, malformed, forged or expired bearer token."""


class PayloadTooLargeError(ServiceError):
    """A body over the limit, before or after decompression."""


class HeadersTooLargeError(ServiceError):
    """A request header, or all of them together, over the limit."""


class UnsupportedMediaTypeError(ServiceError):
    """A content encoding the exchange does not decode."""


@dataclass(frozen=True)
class Problem:
    status: int
    kind: str
    title: str

    @property
    def type(self) -> str:
        return TYPE_BASE + self.kind


# Looked up along the error's class hierarchy, most specific first.
PROBLEMS: dict[type[ServiceError], Problem] = {
    service_errors.MalformedError: Problem(400, "bad-request", "Bad request"),
    UnauthorizedError: Problem(401, "unauthorized", "Missing or invalid bearer token"),
    service_errors.RefusedError: Problem(403, "forbidden", "Not allowed"),
    service_errors.SignatureRefusedError: Problem(403, "signature", "Signature refused"),
    service_errors.SuspendedError: Problem(403, "suspended", "Participant suspended"),
    service_errors.NotFoundError: Problem(404, "not-found", "Not found"),
    service_errors.NotAcceptableError: Problem(406, "not-acceptable", "Not acceptable"),
    service_errors.ConflictError: Problem(409, "conflict", "Conflict"),
    PayloadTooLargeError: Problem(413, "payload-too-large", "Payload too large"),
    UnsupportedMediaTypeError: Problem(415, "unsupported-media-type", "Unsupported content encoding"),
    service_errors.InvalidError: Problem(422, "validation", "The request breaks a rule"),
    HeadersTooLargeError: Problem(431, "headers-too-large", "Request header fields too large"),
    service_errors.LimitExceededError: Problem(429, "rate-limit", "Too many requests"),
    service_errors.UnavailableError: Problem(503, "unavailable", "Service unavailable"),
    service_errors.StorageFullError: Problem(507, "storage", "Insufficient storage"),
}
INTERNAL = Problem(500, "internal", "Internal error")


def problem_of(error: ServiceError) -> Problem:
    for cls in type(error).__mro__:
        if cls in PROBLEMS:
            return PROBLEMS[cls]
    return INTERNAL


def headers_of(error: ServiceError) -> dict[str, str]:
    if isinstance(error, service_errors.LimitExceededError):
        return {"Retry-After": str(math.ceil(error.retry_after))}
    if isinstance(error, service_errors.UnavailableError) and error.retry_after is not None:
        return {"Retry-After": str(math.ceil(error.retry_after))}
    if isinstance(error, UnauthorizedError):
        return {"WWW-Authenticate": 'Bearer realm="idx"'}
    return {}


def trace_id() -> str:
    bound = structlog.contextvars.get_contextvars().get("traceId")
    return str(bound) if bound else uuid.uuid4().hex


def problem_response(
    problem: Problem,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": detail,
        "traceId": trace_id(),
    }
    if errors:
        body["errors"] = errors
    return Response(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


def on_service_error(_: Request[Any, Any, Any], error: ServiceError) -> Response[dict[str, Any]]:
    problem = problem_of(error)
    log.info("request_refused", status=problem.status, kind=problem.kind, detail=error.detail)
    errors = [{"field": e.field, "message": e.message} for e in error.errors]
    return problem_response(problem, error.detail, errors=errors, headers=headers_of(error))


_FRAMEWORK = {
    400: Problem(400, "bad-request", "Bad request"),
    401: Problem(401, "unauthorized", "Missing or invalid bearer token"),
    403: Problem(403, "forbidden", "Not allowed"),
    404: Problem(404, "not-found", "Not found"),
    405: Problem(405, "method-not-allowed", "Method not allowed"),
    413: Problem(413, "payload-too-large", "Payload too large"),
    415: Problem(415, "unsupported-media-type", "Unsupported media type"),
    429: Problem(429, "rate-limit", "Too many requests"),
}


def on_http_exception(_: Request[Any, Any, Any], error: HTTPException) -> Response[dict[str, Any]]:
    problem = _FRAMEWORK.get(error.status_code, Problem(error.status_code, "error", "Error"))
    errors = None
    if isinstance(error, ValidationException) and isinstance(error.extra, list):
        items = [item for item in error.extra if isinstance(item, dict)]
        errors = [{"field": _field(item), "message": str(item.get("message", ""))} for item in items]
        if any(item.get("source") == "body" for item in items):
            # Well-formed JSON that breaks the body's schema is a 422, as for every other rule.
            problem = PROBLEMS[service_errors.InvalidError]
    return problem_response(problem, error.detail, errors=errors, headers=error.headers)


def _field(item: dict[str, Any]) -> str:
    key = str(item.get("key", ""))
    if item.get("source") == "body":
        return "$" if key == "data" else key
    # Litestar names the handler's argument; the client sent the camelCase query parameter.
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


def on_unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[dict[str, Any]]:
    if is_storage_full(error):
        # A store the use cases do not translate themselves (a limits or certificate file, say) ran out of
        # room: the client may try again later, which a 500 would not tell it.
        return on_service_error(request, service_errors.StorageFullError())
    log.exception("request_failed", error=repr(error))
    return problem_response(INTERNAL, "the exchange failed; quote the traceId")
