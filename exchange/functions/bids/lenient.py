"""Finding the periods whose `recallPeriod` has no JSON value at all, so that they can be named.

AEMO's recall period rules reject `"recallPeriod": ,` (blank), a tab or a bare NUL character as the value, and
expect the rejection to name the period. Such a body is not JSON, so a strict reader could only answer "malformed".
When the strict reader fails, each recallPeriod value that is not a JSON scalar is replaced by a marker object that
the rules reject like any other non-number; if the body is still not JSON, it really was malformed.
"""

from __future__ import annotations

import json
import re

# The key, then everything up to the next `,` `}` or `]` outside a string.
_RECALL_VALUE = re.compile(rb'("recallPeriod"\s*:)((?:"(?:[^"\\]|\\.)*"|[^,}\]"])*)', re.DOTALL)
_JSON_WHITESPACE = b" \t\r\n"


def describe(value: bytes) -> str | None:
    """What is wrong with a raw recallPeriod value, or None when it is a JSON scalar."""
    stripped = value.strip(_JSON_WHITESPACE)
    if b"\x00" in value:
        return "a NUL character"
    if not stripped:
        return "blank" if not value else "only whitespace"
    try:
        json.loads(stripped)
    except ValueError:
        return "not a JSON value"
    return None


def repaired(body: bytes) -> bytes | None:
    """The body with each unreadable recallPeriod value marked, or None when there was none to mark."""
    found = False

    def mark(match: re.Match[bytes]) -> bytes:
        nonlocal found
        problem = describe(match.group(2))
        if problem is None:
            return match.group(0)
        found = True
        return match.group(1) + json.dumps({"unreadable": problem}).encode()

    fixed = _RECALL_VALUE.sub(mark, body)
    return fixed if found else None
