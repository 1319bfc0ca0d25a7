"""Bearer auth through the guard and the `principal` dependency, with no server: what is checked, and in what order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar import Litestar, Router, get, post
from litestar.exceptions import HTTPException, WebSocketDisconnect
from litestar.testing import TestClient

from exchange.http.auth import Gate, principal_dependency, requires_token
from exchange.http.problems import on_http_exception, on_service_error
from exchange.http.routes.admin import admin_router
from exchange.http.routes.events import events_handler
from exchange.kernel.clock import Clock
from exchange.kernel.errors import ServiceError
from exchange.services.access import Principal, TokenIssuer
from exchange.services.admission import Admission
from tests.problems import assert_problem

# The routes declare path parameters the way Litestar 2.25 deprecates; serving them is the same.
pytestmark = pytest.mark.filterwarnings("ignore::litestar.exceptions.LitestarDeprecationWarning")

TOKENS = TokenIssuer(b"k" * 32)


class Roles:
    """The standing-data cache, reduced to the questions admission asks of it: no client revoked, nobody
    suspended."""

    def roles_of(self, participant_id: str) -> frozenset[str] | None:
        return frozenset({"MC"})

    def client(self, client_id: str) -> None:
        return None

    def participant(self, participant_id: str) -> None:
        return None


class Unreachable:
    """A use case the guard must keep every refused request away from."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"{name} was reached")


@get("/whoami", opt=requires_token())
async def whoami(principal: Principal) -> dict[str, str]:
    return {"participantId": principal.participant_id}


@post("/echo", opt=requires_token("PQD_BPQD"))
async def echo(principal: Principal, data: dict[str, int]) -> dict[str, int]:
    return data


@get("/public")
async def public() -> dict[str, str]:
    return {"status": "ok"}


@get("/forgot-its-opt")
async def forgot(principal: Principal) -> dict[str, str]:
    return {"participantId": principal.participant_id}


def app() -> Litestar:
    admission = Admission(TOKENS, Clock(), Roles())  # type: ignore[arg-type]
    return Litestar(
        route_handlers=[
            admin_router(Unreachable(), Unreachable()),  # type: ignore[arg-type]
            Router("/t", route_handlers=[whoami, echo, public, forgot]),
            events_handler(Unreachable()),  # type: ignore[arg-type]
        ],
        guards=[Gate(admission).authenticate],
        dependencies={"principal": principal_dependency},
        exception_handlers={ServiceError: on_service_error, HTTPException: on_http_exception},
    )


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Litestar]]:
    with TestClient(app(), raise_server_exceptions=False) as test_client:
        yield test_client


def bearer(*scopes: str) -> dict[str, str]:
    token = TOKENS.issue("client-1", "MCONE", list(scopes), datetime.now(UTC))
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"participantId": 7}', b"[]"],
    ids=["malformed JSON", "JSON that breaks the schema", "the wrong JSON type"],
)
def test_no_token_is_401_before_the_body_is_read(client: TestClient[Litestar], body: bytes) -> None:
    """POST /admin/v1/participants without a token is 401 whatever the body, never 400 or 422."""
    response = client.post("/admin/v1/participants", content=body, headers={"Content-Type": "application/json"})

    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="idx"'


def test_a_token_without_the_entity_is_403_before_the_body_is_read(client: TestClient[Litestar]) -> None:
    """A participant's token on an IDX_ADMIN route is 403 even when the body would be a 400."""
    response = client.post(
        "/admin/v1/participants",
        content=b"{not json",
        headers={"Content-Type": "application/json", **bearer("PQD_BPQD")},
    )

    assert_problem(response, 403)


def test_once_let_in_the_body_is_judged_as_before(client: TestClient[Litestar]) -> None:
    """With the right token, malformed JSON is a 400 and a body of the wrong shape a 422."""
    headers = {"Content-Type": "application/json", **bearer("PQD_BPQD")}

    assert_problem(client.post("/t/echo", content=b"{not json", headers=headers), 400)
    assert_problem(client.post("/t/echo", content=b'{"a": "b"}', headers=headers), 422)
    assert client.post("/t/echo", content=b'{"a": 1}', headers=headers).json() == {"a": 1}


def test_a_route_that_needs_any_token_gets_the_principal(client: TestClient[Litestar]) -> None:
    """`requires_token()` lets in a token with no entity at all, and the handler sees who called."""
    assert_problem(client.get("/t/whoami"), 401)
    assert_problem(client.get("/t/whoami", headers={"Authorization": "Bearer forged"}), 401)
    assert client.get("/t/whoami", headers=bearer()).json() == {"participantId": "MCONE"}


def test_a_route_without_the_opt_is_public(client: TestClient[Litestar]) -> None:
    """No `opt` entity: no token asked for."""
    assert client.get("/t/public").json() == {"status": "ok"}


def test_a_public_route_that_asks_for_a_principal_fails_loudly(client: TestClient[Litestar]) -> None:
    """A handler that takes `principal` on a route without `opt` is a programming error, not an open door."""
    assert client.get("/t/forgot-its-opt", headers=bearer()).status_code == 500


@pytest.mark.parametrize(
    ("headers", "query", "code"),
    [
        ({}, "", 4401),
        ({"Authorization": "Bearer forged"}, "", 4401),
        ({}, "?access_token=not.a.token", 4401),
        (bearer("PQD_BPQD"), "", 4403),
    ],
    ids=["no token", "forged header", "forged query token", "no EVENT_NOTIFY"],
)
def test_a_refused_socket_is_accepted_then_closed_with_4000_plus_the_status(
    client: TestClient[Litestar], headers: dict[str, str], query: str, code: int
) -> None:
    """A browser can read a close code but not a refused handshake: 4401 and 4403 as the HTTP API's 401 and 403."""
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect(f"/idx/v1/events{query}", headers=headers) as socket,
    ):
        socket.receive_text()

    assert closed.value.code == code
