"""The limits the app itself applies, whatever server runs it: headers (431) and the JSON Litestar decodes (400)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import pytest
from litestar import Litestar, post
from litestar.exceptions import HTTPException
from litestar.params import Body
from litestar.testing import TestClient

from exchange.http.body import CheckedJsonRequest
from exchange.http.limits import MAX_HEADER, limit_headers
from exchange.http.problems import on_http_exception, on_service_error
from exchange.kernel.errors import ServiceError
from tests.problems import assert_problem


@post("/echo")
async def echo(data: Annotated[dict[str, object], Body()]) -> dict[str, object]:
    return data


@pytest.fixture
def client() -> Iterator[TestClient[Litestar]]:
    app = Litestar(
        route_handlers=[echo],
        middleware=[limit_headers],
        request_class=CheckedJsonRequest,
        exception_handlers={ServiceError: on_service_error, HTTPException: on_http_exception},
    )
    with TestClient(app) as test_client:
        yield test_client


def test_a_header_over_16_kib_is_a_431_problem(client: TestClient[Litestar]) -> None:
    """One header a byte over the limit never reaches the route; one at the limit does."""
    refused = client.post("/echo", json={}, headers={"x-big": "a" * (MAX_HEADER - len("x-big") + 1)})
    assert_problem(refused, 431)
    assert client.post("/echo", json={}, headers={"x-big": "a" * (MAX_HEADER - len("x-big"))}).status_code == 201


def test_headers_over_64_kib_together_are_a_431_problem(client: TestClient[Litestar]) -> None:
    """Five headers of 15,000 bytes each keep to the per-header limit but not to the total."""
    headers = {f"x-h{i}": "a" * 15_000 for i in range(5)}
    assert_problem(client.post("/echo", json={}, headers=headers), 431)


def test_litestar_data_nested_1000_deep_is_a_400_problem(client: TestClient[Litestar]) -> None:
    """A handler's `data` 1,000 deep is refused before Litestar's decoder recurses on it."""
    body = b'{"a":' * 1000 + b"1" + b"}" * 1000
    response = client.post("/echo", content=body, headers={"Content-Type": "application/json"})
    assert_problem(response, 400)


def test_litestar_data_with_a_key_twice_is_a_400_problem(client: TestClient[Litestar]) -> None:
    """`{"a": 1, "a": 2}` is refused rather than read as `{"a": 2}`; a body without repeats echoes back."""
    twice = client.post("/echo", content=b'{"a": 1, "a": 2}', headers={"Content-Type": "application/json"})
    assert_problem(twice, 400)
    assert client.post("/echo", content=b'{"a": 1, "b": 2}').json() == {"a": 1, "b": 2}
