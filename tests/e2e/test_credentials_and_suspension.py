"""The operator's hold on access, tried from outside: rotating and revoking client credentials, suspending a
participant, and the limit on guessing secrets."""

from __future__ import annotations

import asyncio

import httpx

from exchange.functions.bpqd.sample import sample_body
from simulators.client import ParticipantClient, new_context_id
from tests.e2e.conftest import Participants
from tests.problems import assert_oauth_error, assert_problem


async def rejection_detail(operator: ParticipantClient, context_id: str) -> str:
    """The `detail` of the transaction log's refused row for a message, once the log has it."""
    for _ in range(100):
        found = await operator.http.get(
            "/idx/v1/translog", params={"messageContextId": context_id}, headers=operator.headers()
        )
        assert found.status_code == 200, found.text
        rows = [row for row in found.json()["data"] if row["status"] == "message_rejected"]
        if rows:
            return str(rows[0]["detail"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"{context_id} never reached the transaction log")


def token_form(client_id: str, secret: str) -> dict[str, str]:
    return {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}


def clients_path(participant: ParticipantClient) -> str:
    return f"/admin/v1/participants/{participant.participant_id}/clients"


async def test_a_rotated_secret_is_refused_at_once(participants: Participants, operator: ParticipantClient) -> None:
    """POST .../rotate answers a new secret; the old one gets 401 from the next request, the new one a token."""
    mc = await participants.new("MC", ["MC"], enrol=False)
    old = mc.credentials.client_secret

    rotated = await operator.http.post(
        f"{clients_path(mc)}/{mc.credentials.client_id}/rotate", headers=operator.headers()
    )

    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["data"]["clientSecret"]
    assert new != old
    refused = await mc.http.post("/oauth/token", data=token_form(mc.credentials.client_id, old))
    assert_oauth_error(refused, 401, "invalid_client")
    issued = await mc.http.post("/oauth/token", data=token_form(mc.credentials.client_id, new))
    assert issued.status_code == 200, issued.text


async def test_a_revoked_clients_live_token_gets_401(participants: Participants, operator: ParticipantClient) -> None:
    """DELETE .../clients/{id} → 204; the token it held a moment ago gets 401, and the list shows it revoked."""
    mc = await participants.new("MC", ["MC"], enrol=False)
    assert (await mc.list_queue()).status_code == 200

    revoked = await operator.http.delete(f"{clients_path(mc)}/{mc.credentials.client_id}", headers=operator.headers())

    assert revoked.status_code == 204, revoked.text
    response = await mc.list_queue()
    assert_problem(response, 401)
    again = await mc.http.post("/oauth/token", data=token_form(mc.credentials.client_id, mc.credentials.client_secret))
    assert_oauth_error(again, 401, "invalid_client")
    listed = await operator.http.get(clients_path(mc), headers=operator.headers())
    assert listed.status_code == 200, listed.text
    [client] = listed.json()["data"]
    assert client["clientId"] == mc.credentials.client_id and client["status"] == "revoked"
    assert set(client) == {"clientId", "scopes", "createdDateTime", "status"}
    assert mc.credentials.client_secret not in listed.text


async def test_a_suspended_participant_gets_403_suspended_and_messages_to_it_get_422(
    participants: Participants, operator: ParticipantClient
) -> None:
    """PATCH status Suspended: its calls get 403 `/suspended` (not /healthz); a message to it 422 naming it, kept
    in the sender's transaction log as refused; Active again lets it back in."""
    mc, lnsp = await participants.mc_and_lnsp()
    patch_path = f"/admin/v1/participants/{lnsp.participant_id}"

    suspended = await operator.http.patch(
        patch_path, json={"status": "Suspended", "reason": "unpaid fees"}, headers=operator.headers()
    )

    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["data"]["status"] == "Suspended"
    assert_problem(await lnsp.list_queue(), 403, kind="suspended")
    assert (await lnsp.http.get("/healthz")).status_code == 200
    context_id = new_context_id("pqd", "bpqd", "Medium", mc.participant_id)
    refused = await mc.submit(sample_body(mc.participant_id, [lnsp.participant_id]), context_id=context_id)
    problem = assert_problem(refused, 422, ["data.header.receivingParticipantId[0]"])
    assert lnsp.participant_id in problem["errors"][0]["message"]
    assert f"{lnsp.participant_id} is suspended" in await rejection_detail(operator, context_id)
    status = await operator.http.get(
        "/idx/v1/participantStatus", params={"participantId": lnsp.participant_id}, headers=operator.headers()
    )
    assert {row["participantStatus"] for row in status.json()["data"]} == {"Suspended"}, status.text

    active = await operator.http.patch(
        patch_path, json={"status": "Active", "reason": "paid"}, headers=operator.headers()
    )
    assert active.status_code == 200, active.text
    assert (await lnsp.list_queue()).status_code == 200


async def test_a_status_that_is_neither_active_nor_suspended_gets_422(
    participants: Participants, operator: ParticipantClient
) -> None:
    lnsp = await participants.new("LN", ["LNSP"], enrol=False)
    response = await operator.http.patch(
        f"/admin/v1/participants/{lnsp.participant_id}", json={"status": "Gone"}, headers=operator.headers()
    )
    assert_problem(response, 422, ["status"])


async def test_repeated_wrong_secrets_for_a_client_id_get_429_with_retry_after(participants: Participants) -> None:
    """Ten wrong secrets for one client id, then even the right one waits: 429 with Retry-After."""
    mc = await participants.new("MC", ["MC"], enrol=False)
    async with httpx.AsyncClient(base_url=mc.base_url) as http:
        for attempt in range(10):
            wrong = await http.post("/oauth/token", data=token_form(mc.credentials.client_id, f"guess{attempt}"))
            assert_oauth_error(wrong, 401, "invalid_client")
        locked = await http.post(
            "/oauth/token", data=token_form(mc.credentials.client_id, mc.credentials.client_secret)
        )
    assert_oauth_error(locked, 429, "slow_down")
    assert int(locked.headers["retry-after"]) >= 1


async def test_after_web_sign_out_the_session_token_gets_401(participants: Participants) -> None:
    """The web session cookie is a bearer token: signing out ends it, not only the browser's copy."""
    mc = await participants.new("MC", ["MC"], enrol=False)
    async with httpx.AsyncClient(base_url=mc.base_url) as browser:
        signed_in = await browser.post(
            "/app/sign-in",
            data={"client_id": mc.credentials.client_id, "client_secret": mc.credentials.client_secret},
        )
        assert signed_in.status_code == 303, signed_in.text
        token = browser.cookies["idx_session"]
        bearer = {"Authorization": f"Bearer {token}"}
        assert (await browser.get("/pqd/v1/bpqd", headers=bearer)).status_code == 200

        signed_out = await browser.post("/app/sign-out")
        assert signed_out.status_code == 303, signed_out.text

        assert_problem(await browser.get("/pqd/v1/bpqd", headers=bearer), 401)
