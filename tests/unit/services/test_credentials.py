"""Client credentials over their life: listed without secrets, rotated, revoked, guessed at, and given up."""

from __future__ import annotations

import time

import pytest

from exchange.bootstrap import Services
from exchange.kernel.errors import LimitExceededError, NotFoundError
from exchange.services.access import TokenError
from exchange.services.participants import InvalidClientError
from tests.unit.services.conftest import Market, SettableClock


async def new_client(market: Market) -> tuple[str, str, str]:
    """A participant with one client: its participant id, client id and secret."""
    member = await market.participant("MC", ["MC"], enrol=False)
    issued = await market.services.admin.add_client(member.participant_id, ["PQD_BPQD"])
    return member.participant_id, issued.client_id, issued.client_secret


async def test_a_participants_clients_are_listed_with_scopes_and_status_but_never_a_secret(market: Market) -> None:
    """GET .../clients shows each client's id, scopes, creation time and status, and nothing of its secret."""
    participant_id, client_id, secret = await new_client(market)
    await market.services.admin.add_client(participant_id, ["TLS_CERTIFICATE_MANAGEMENT"])

    listed = await market.services.admin.clients(participant_id)

    assert len(listed) == 2 and listed[0].client_id == client_id
    assert listed[0].scopes == ["PQD_BPQD"] and listed[0].status == "active"
    assert all(secret not in repr(c) and "scrypt" not in repr(c) for c in listed)


async def test_listing_the_clients_of_an_unknown_participant_is_not_found(services: Services) -> None:
    with pytest.raises(NotFoundError):
        await services.admin.clients("NOBODY")


async def test_a_rotated_secret_is_refused_at_once_and_the_new_one_works(market: Market) -> None:
    participant_id, client_id, old_secret = await new_client(market)

    rotated = await market.services.admin.rotate_secret(participant_id, client_id)

    with pytest.raises(InvalidClientError):
        await market.services.admin.token(client_id, old_secret, None)
    issued = await market.services.admin.token(client_id, rotated.client_secret, None)
    assert market.services.admission.verify(issued.access_token).client_id == client_id


async def test_rotating_another_participants_client_is_not_found(market: Market) -> None:
    """The path names the participant: a client of someone else is not found there, and keeps its secret."""
    _, client_id, secret = await new_client(market)
    other = await market.participant("MC", ["MC"], enrol=False)

    with pytest.raises(NotFoundError):
        await market.services.admin.rotate_secret(other.participant_id, client_id)
    await market.services.admin.token(client_id, secret, None)


async def test_a_revoked_clients_live_token_is_refused_and_it_gets_no_new_one(market: Market) -> None:
    participant_id, client_id, secret = await new_client(market)
    live = (await market.services.admin.token(client_id, secret, None)).access_token
    market.services.admission.verify(live)

    await market.services.admin.revoke_client(participant_id, client_id)

    with pytest.raises(TokenError, match="revoked"):
        market.services.admission.verify(live)
    with pytest.raises(InvalidClientError):
        await market.services.admin.token(client_id, secret, None)
    [listed] = await market.services.admin.clients(participant_id)
    assert listed.status == "revoked"


async def test_revoking_a_client_twice_is_harmless(market: Market) -> None:
    participant_id, client_id, _ = await new_client(market)
    await market.services.admin.revoke_client(participant_id, client_id)
    await market.services.admin.revoke_client(participant_id, client_id)
    [listed] = await market.services.admin.clients(participant_id)
    assert listed.status == "revoked"


@pytest.mark.usefixtures("exchange_secret_hashes")
async def test_an_unknown_client_id_takes_as_long_to_refuse_as_a_wrong_secret(market: Market) -> None:
    """The secret check runs scrypt for unknown ids too, so timing does not tell which client ids exist."""
    _, client_id, _ = await new_client(market)

    async def slowest_refusal(candidate: str) -> float:
        # CPU time of this process, not wall time: other work on a busy machine does not count, scrypt does.
        times = []
        for _ in range(3):
            began = time.process_time()
            with pytest.raises(InvalidClientError):
                await market.services.admin.token(candidate, "wrong", None)
            times.append(time.process_time() - began)
        return min(times)

    await slowest_refusal("warm-up-unknown")  # the unknown-id hash is made on first use
    known, unknown = await slowest_refusal(client_id), await slowest_refusal("nobody-0000")
    assert unknown > known / 2, (known, unknown)


async def test_failed_attempts_lock_a_client_id_out_for_a_while_even_with_the_right_secret(
    market: Market, clock: SettableClock
) -> None:
    """Past ten failures in a window, the client id gets 429 with the seconds to wait; later it works again."""
    _, client_id, secret = await new_client(market)
    for attempt in range(10):
        with pytest.raises(InvalidClientError):
            await market.services.admin.token(client_id, f"guess-{attempt}", None, address=f"10.0.0.{attempt}")

    with pytest.raises(LimitExceededError) as refused:
        await market.services.admin.token(client_id, secret, None, address="10.0.1.1")
    assert 1 <= refused.value.retry_after <= 300

    clock.advance(refused.value.retry_after)
    await market.services.admin.token(client_id, secret, None, address="10.0.1.1")


async def test_failed_attempts_from_one_address_lock_that_address_out_for_every_client_id(market: Market) -> None:
    """Guessing across many client ids from one address is stopped too; another address is not affected."""
    _, client_id, secret = await new_client(market)
    for attempt in range(30):
        with pytest.raises(InvalidClientError):
            await market.services.admin.token(f"guess-{attempt}", "wrong", None, address="192.0.2.7")

    with pytest.raises(LimitExceededError):
        await market.services.admin.token(client_id, secret, None, address="192.0.2.7")
    await market.services.admin.token(client_id, secret, None, address="192.0.2.8")


async def test_a_token_given_up_at_sign_out_is_refused(market: Market) -> None:
    _, client_id, secret = await new_client(market)
    token = (await market.services.admin.token(client_id, secret, None)).access_token
    other = (await market.services.admin.token(client_id, secret, None)).access_token

    market.services.tokens.end(token, market.services.clock.now())

    with pytest.raises(TokenError, match="sign-out"):
        market.services.admission.verify(token)
    market.services.admission.verify(other)  # only the session's own token ends


async def test_the_client_list_shows_entities_granted_after_the_client_was_listed(market: Market) -> None:
    participant_id, client_id, _ = await new_client(market)
    await market.services.admin.clients(participant_id)

    await market.services.admin.grant(client_id, ["TRANSLOG_TRANSLOG"])

    [listed] = await market.services.admin.clients(participant_id)
    assert listed.scopes == ["PQD_BPQD", "TRANSLOG_TRANSLOG"]
