"""Rule violations a business function reports, each named by its path into the body."""

from __future__ import annotations

import re

import msgspec


class FieldError(msgspec.Struct, frozen=True):
    """One broken rule: `field` is the path from the body root, e.g. `data.header.priority`."""

    field: str
    message: str


class RuleViolationError(Exception):
    """The body is well-formed JSON but breaks the schema or a business rule (answered 422)."""

    def __init__(self, errors: list[FieldError], requested_recipients: tuple[str, ...] = ()) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors
        # Known when the header could be read, so that the rejection is logged against each recipient.
        self.requested_recipients = requested_recipients


class MalformedBodyError(Exception):
    """The body is not JSON at all (answered 400)."""


_MSGSPEC_PATH = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)


def field_error_from_msgspec(error: msgspec.ValidationError) -> FieldError:
    """Turn msgspec's `Expected int, got str - at `$.data.x[0]`` into a FieldError with a body path."""
    match = _MSGSPEC_PATH.match(str(error))
    assert match is not None  # the pattern matches any string
    path = (match.group("path") or "").lstrip(".")
    return FieldError(field=path or "$", message=match.group("message"))


class OperationRefusedError(Exception):
    """The caller may not do this (answered 403)."""


class NothingFoundError(Exception):
    """Nothing of the caller's by that name (answered 404; existence is not revealed)."""
