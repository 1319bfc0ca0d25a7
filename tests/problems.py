"""RFC 9457 problem answers as the tests expect them: status, `type` and `title` pinned, never just a status."""

from __future__ import annotations

from typing import Any

import httpx

TYPE_BASE = "https://idx.example/problems/"

# The problem type each status has unless a test names another (`signature`, `suspended`, ...).
KINDS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    406: "not-acceptable",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation",
    429: "rate-limit",
    431: "headers-too-large",
    503: "unavailable",
    507: "storage",
}

# The titles a person reads for each type; a class name such as "ConflictError" is not one.
TITLES = {
    "bad-request": {"Bad request"},
    "unauthorized": {"Missing or invalid bearer token"},
    "forbidden": {"Not allowed"},
    "signature": {"Signature refused"},
    "suspended": {"Participant suspended"},
    "not-found": {"Not found"},
    "not-acceptable": {"Not acceptable"},
    "method-not-allowed": {"Method not allowed"},
    "conflict": {"Conflict"},
    "payload-too-large": {"Payload too large"},
    "unsupported-media-type": {"Unsupported content encoding", "Unsupported media type"},
    "validation": {"The request breaks a rule"},
    "rate-limit": {"Too many requests"},
    "headers-too-large": {"Request header fields too large"},
    "unavailable": {"Service unavailable"},
    "storage": {"Insufficient storage"},
}


def assert_problem(
    response: httpx.Response, status: int, fields: list[str] | None = None, *, kind: str | None = None
) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and type (by default the status's usual type), a
    title a person can read, a detail and a trace id; `fields`, when given, are exactly its `errors[].field`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    problem: dict[str, Any] = response.json()
    kind = kind or KINDS[status]
    assert problem["status"] == status, problem
    assert problem["type"] == TYPE_BASE + kind, problem
    if kind in TITLES:
        assert problem["title"] in TITLES[kind], problem
    else:
        assert isinstance(problem["title"], str) and " " in problem["title"].strip(), problem
    assert isinstance(problem["detail"], str) and problem["detail"], problem
    assert isinstance(problem["traceId"], str) and problem["traceId"], problem
    if fields is not None:
        assert [error["field"] for error in problem.get("errors", [])] == fields, problem
        assert all(error["message"] for error in problem["errors"]), problem
    return problem


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    """The response is RFC 6749's error answer (section 5.2), not a problem, because OAuth clients read this shape:
    this status, plain JSON with exactly `error` (this code) and a readable `error_description`, and no token."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    answer: dict[str, Any] = response.json()
    assert set(answer) == {"error", "error_description"}, answer
    assert answer["error"] == error, answer
    assert isinstance(answer["error_description"], str) and answer["error_description"], answer
    return answer
