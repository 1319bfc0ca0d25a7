"""The web app's in-process calls are not counted against the per-minute rate limit; everyone else's are."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiosqlite
import httpx
import pytest
from litestar import Litestar, get
from litestar.exceptions import HTTPException

from exchange.http.auth import Gate, in_process, principal_dependency, requires_token
from exchange.http.problems import on_http_exception, on_service_error
from exchange.kernel.clock import Clock
from exchange.kernel.errors import ServiceError
from exchange.services.access import Principal, TokenIssuer
from exchange.services.admission import Admission
from flowcontrol.limits import LimitStore
from tests.problems import assert_problem
from tests.unit.http.test_bearer_auth import Roles

# The route declares its principal the way Litestar 2.25 deprecates, as the exchange's routes do.
pytestmark = pytest.mark.filterwarnings("ignore::litestar.exceptions.LitestarDeprecationWarning")

TOKENS = TokenIssuer(b"k" * 32)
LIMIT = 3


@get("/whoami", opt=requires_token("PQD_BPQD"))
async def whoami(principal: Principal) -> dict[str, str]:
    return {"participantId": principal.participant_id}


@pytest.fixture
async def app() -> AsyncIterator[Litestar]:
    async with aiosqlite.connect(":memory:", isolation_level=None) as db:
        admission = Admission(TOKENS, Clock(), Roles(), LimitStore(db), LIMIT)  # type: ignore[arg-type]
        yield Litestar(
            route_handlers=[whoami],
            guards=[Gate(admission).authenticate],
            dependencies={"principal": principal_dependency},
            exception_handlers={ServiceError: on_service_error, HTTPException: on_http_exception},
        )


def bearer() -> dict[str, str]:
    token = TOKENS.issue("client-1", "MCONE", ["PQD_BPQD"], datetime.now(UTC))
    return {"Authorization": f"Bearer {token}"}


async def calls(transport: httpx.AsyncBaseTransport, count: int, **headers: str) -> list[httpx.Response]:
    async with httpx.AsyncClient(transport=transport, base_url="http://idx.internal") as client:
        return [await client.get("/whoami", headers={**bearer(), **headers}) for _ in range(count)]


async def test_a_system_calling_directly_is_refused_past_the_limit(app: Litestar) -> None:
    """The fourth call in a minute with a limit of three is a 429 problem with Retry-After."""
    answers = await calls(httpx.ASGITransport(app=app), LIMIT + 1)  # type: ignore[arg-type]
    assert [a.status_code for a in answers[:LIMIT]] == [200] * LIMIT
    assert_problem(answers[LIMIT], 429)
    assert answers[LIMIT].headers["retry-after"]


async def test_the_web_apps_in_process_calls_are_not_counted(app: Litestar) -> None:
    """Ten in-process calls pass a limit of three, and leave the participant's own allowance untouched."""
    web = await calls(httpx.ASGITransport(app=in_process(app)), 10)  # type: ignore[arg-type]
    assert [a.status_code for a in web] == [200] * 10
    direct = await calls(httpx.ASGITransport(app=app), LIMIT)  # type: ignore[arg-type]
    assert [a.status_code for a in direct] == [200] * LIMIT


async def test_no_header_claims_the_web_apps_exemption(app: Litestar) -> None:
    """A caller that names the scope key as a header is still counted."""
    answers = await calls(httpx.ASGITransport(app=app), LIMIT + 1, **{"idx.in_process": "true"})  # type: ignore[arg-type]
    assert_problem(answers[LIMIT], 429)
