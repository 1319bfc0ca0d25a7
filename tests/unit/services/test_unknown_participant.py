"""Use cases on one participant answer alike for a participant that was never registered."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from certs.participant import build_csr, new_signing_key
from exchange.bootstrap import Services
from exchange.kernel.errors import NotFoundError

UNKNOWN = "NOBODY1"

ACTS: dict[str, Callable[[Services], Awaitable[Any]]] = {
    "read it": lambda s: s.admin.participant(UNKNOWN),
    "list its clients": lambda s: s.admin.clients(UNKNOWN),
    "add a client": lambda s: s.admin.add_client(UNKNOWN, []),
    "suspend it": lambda s: s.admin.set_status(UNKNOWN, "Suspended", "test"),
    "list its certificates": lambda s: s.certificates.listing(UNKNOWN),
    "issue it a certificate": lambda s: s.certificates.issue(
        UNKNOWN, build_csr(new_signing_key(elliptic=True), f"{UNKNOWN}-x").decode()
    ),
}


@pytest.mark.parametrize("act", ACTS.values(), ids=ACTS.keys())
async def test_acting_on_a_participant_never_registered_is_not_found_naming_it(
    services: Services, act: Callable[[Services], Awaitable[Any]]
) -> None:
    """Each is NotFoundError (404) saying that participant does not exist, and nothing is registered."""
    with pytest.raises(NotFoundError) as refused:
        await act(services)
    assert str(refused.value) == f"participant {UNKNOWN} does not exist"
    assert UNKNOWN not in [p.participant_id for p in await services.admin.participants()]
