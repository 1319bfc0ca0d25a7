"""Problems the exchange answers with: RFC 9457 problem details, raised by use cases, rendered by the API."""

from __future__ import annotations

from collections.abc import Sequence

from exchange.functions.errors import FieldError

TYPE_BASE = "https://idx.example/problems/"


class ProblemError(Exception):
    """A refusal with an HTTP status, a stable type and a sentence for a person."""

    status = 400
    kind = "bad-request"
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        self.headers = headers or {}

    @property
    def type(self) -> str:
        return TYPE_BASE + self.kind


class BadRequestError(ProblemError):
    pass


class UnauthorizedError(ProblemError):
    status, kind, title = 401, "unauthorized", "Missing or invalid bearer token"


class ForbiddenError(ProblemError):
    status, kind, title = 403, "forbidden", "Not allowed"


class SignatureRefusedError(ProblemError):
    status, kind, title = 403, "signature", "Signature refused"


class NotFoundError(ProblemError):
    status, kind, title = 404, "not-found", "Not found"


class ConflictError(ProblemError):
    status, kind, title = 409, "conflict", "Conflict"


class PayloadTooLargeError(ProblemError):
    status, kind, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaTypeError(ProblemError):
    status, kind, title = 415, "unsupported-media-type", "Unsupported content encoding"


class UnprocessableError(ProblemError):
    status, kind, title = 422, "validation", "The request breaks a rule"


class TooManyRequestsError(ProblemError):
    status, kind, title = 429, "rate-limit", "Too many requests"


class UnavailableError(ProblemError):
    status, kind, title = 503, "unavailable", "Service unavailable"
