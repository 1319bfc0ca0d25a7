"""What the processes of one exchange (`idx serve --workers N`) share through the counters store: sign-outs and
failed secret checks. Each "process" here is a `build_services` of its own, on one limits database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from exchange.bootstrap import Services
from exchange.kernel.errors import LimitExceededError
from exchange.readmodels.views import open_views
from exchange.services.access import TokenError, TokenIssuer
from exchange.services.participants import InvalidClientError
from flowcontrol.limits import LimitStore
from tests.unit.services.conftest import BuildServices, Market, use_case_fixture

TOKEN_KEY = b"unit-test-token-key-of-32-bytes!"


@use_case_fixture
async def two_processes(make_services: BuildServices, tmp_path: Path) -> AsyncIterator[list[Services]]:
    """Two sets of services with one token key and one counters database, as two workers have."""
    limits_db = await open_views(tmp_path / "limits.sqlite")
    limits = LimitStore(limits_db)
    made = [await make_services(limits=limits, tokens=TokenIssuer(TOKEN_KEY)) for _ in range(2)]
    yield made
    await limits_db.close()


async def test_a_sign_out_through_one_process_is_refused_by_the_other_once_it_takes_sign_outs_in(
    two_processes: list[Services],
) -> None:
    first, second = two_processes
    member = await Market(first).participant("MC", ["MC"], enrol=False)
    issued = await first.admin.add_client(member.participant_id, ["PQD_BPQD"])
    token = (await first.admin.token(issued.client_id, issued.client_secret, None)).access_token
    other = (await first.admin.token(issued.client_id, issued.client_secret, None)).access_token
    second.admission.verify(token)

    await first.sign_outs.end(token)
    await second.sign_outs.take_in()

    with pytest.raises(TokenError, match="sign-out"):
        second.admission.verify(token)
    second.admission.verify(other)  # only the session's own token ends


async def test_failed_secret_checks_through_one_process_lock_the_client_id_out_of_the_other(
    two_processes: list[Services],
) -> None:
    """A guesser cannot get ten more tries by moving to another worker."""
    first, second = two_processes
    for attempt in range(10):
        with pytest.raises(InvalidClientError):
            await first.admin.token("guessed-client", f"guess-{attempt}", None)

    with pytest.raises(LimitExceededError) as refused:
        await second.admin.token("guessed-client", "another-guess", None)
    assert 1 <= refused.value.retry_after <= 300


async def test_a_forged_token_signed_out_is_not_recorded(services: Services) -> None:
    """Sign-out of a token the exchange did not issue records nothing for the other processes to take in."""
    forged = TokenIssuer(b"f" * 32).issue("c", "MC1", [], services.clock.now())

    await services.sign_outs.end(forged)

    assert await services.limits.sign_outs(services.clock.now()) == {}
