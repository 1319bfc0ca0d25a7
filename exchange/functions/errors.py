"""Errors a business function raises, each one a service error the HTTP layer knows how to answer."""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import islice

import msgspec

from exchange.kernel.errors import FieldError, InvalidError, MalformedError, NotFoundError, RefusedError

__all__ = [
    "FieldError",
    "MalformedBodyError",
    "NothingFoundError",
    "OperationRefusedError",
    "RuleViolationError",
    "field_error_from_msgspec",
    "first_errors",
]

# A 10 MB body of bad values must not become a far larger answer or transaction-log entry.
MAX_ERRORS = 100


class RuleViolationError(InvalidError):
    """The body is well-formed JSON but breaks the schema or a business rule."""

    def __init__(self, errors: list[FieldError], requested_recipients: tuple[str, ...] = ()) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)
        # Known when the header could be read, so that the rejection is logged against each recipient.
        self.requested_recipients = requested_recipients


class MalformedBodyError(MalformedError):
    """The body is not JSON at all."""


_MSGSPEC_PATH = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)


def field_error_from_msgspec(error: msgspec.ValidationError) -> FieldError:
    """Turn msgspec's `Expected int, got str - at `$.data.x[0]`` into a FieldError with a body path."""
    match = _MSGSPEC_PATH.match(str(error))
    assert match is not None  # the pattern matches any string
    path = (match.group("path") or "").lstrip(".")
    return FieldError(field=path or "$", message=match.group("message"))


class OperationRefusedError(RefusedError):
    """The caller may not do this."""


class NothingFoundError(NotFoundError):
    """Nothing of the caller's by that name (existence is not revealed)."""


def first_errors(errors: Iterable[FieldError], limit: int = MAX_ERRORS, note_on: str = "data") -> list[FieldError]:
    """At most `limit` errors, followed by a note on the field `note_on` when more were found.

    The checks are generators, so a body full of bad values costs only the errors that are reported.
    """
    found = list(islice(errors, limit + 1))
    if len(found) <= limit:
        return found
    return [*found[:limit], FieldError(note_on, f"more errors follow; only the first {limit} are reported")]
