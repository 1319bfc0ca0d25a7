"""`POST /admin/v1/clock` (only with `--test-clock`): move the exchange's one clock forward."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Router, post
from litestar.params import Body

from exchange.functions.errors import FieldError
from exchange.http.auth import requires_token
from exchange.kernel.clock import Clock, iso
from exchange.kernel.errors import InvalidError


class Advance(msgspec.Struct, rename="camel"):
    advance_seconds: float


def clock_router(clock: Clock) -> Router:
    @post("/clock", status_code=200, summary="Move the test clock forward (only with --test-clock)")
    async def advance(data: Annotated[Advance, Body()]) -> dict[str, dict[str, str]]:
        if not 0 <= data.advance_seconds <= 100 * 365 * 86400:
            raise InvalidError(
                "the clock only moves forward", errors=[FieldError("advanceSeconds", "must be between 0 and 100 years")]
            )
        return {"data": {"now": iso(clock.advance(data.advance_seconds))}}

    return Router(path="/admin/v1", route_handlers=[advance], tags=["administration"], opt=requires_token("IDX_ADMIN"))
