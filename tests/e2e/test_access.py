"""Who may call what: OAuth client credentials, bearer tokens, entities, roles, administration, open endpoints."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from typing import Any
from unittest.mock import ANY

import httpx
import jwt
import pytest
from cryptography import x509

from exchange.functions.bpqd.sample import sample_body
from simulators.client import ParticipantClient, new_context_id
from tests.e2e.conftest import Participants
from tests.e2e.queue_helpers import settled_queue
from tests.problems import assert_oauth_error, assert_problem

PATH = "/pqd/v1/bpqd"


def assert_unauthorized(response: httpx.Response) -> None:
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].lower().startswith("bearer")


def assert_forbidden(response: httpx.Response) -> None:
    assert_problem(response, 403)


async def token_request(http: httpx.AsyncClient, **form: str) -> httpx.Response:
    return await http.post("/oauth/token", data=form)


def credentials_form(client: ParticipantClient, **overrides: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": client.credentials.client_id,
        "client_secret": client.credentials.client_secret,
        **overrides,
    }


# --- OAuth 2.0 client credentials ---------------------------------------------------------------------------------


async def test_a_token_answer_is_bearer_for_3599_seconds_with_every_held_entity(participants: Participants) -> None:
    """client_credentials without scope → 200 Bearer token, expires_in 3599, scope = every entity the client holds."""
    mc = await participants.new("MC", ["MC"], enrol=False)

    response = await token_request(mc.http, **credentials_form(mc))

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 3599
    assert set(answer["scope"].split()) == {"PQD_BPQD", "TLS_CERTIFICATE_MANAGEMENT"}
    assert isinstance(answer["access_token"], str) and answer["access_token"]
    assert "no-store" in response.headers["cache-control"]
    listed = await mc.http.get(PATH, headers={"Authorization": f"Bearer {answer['access_token']}"})
    assert listed.status_code == 200, listed.text


async def test_http_basic_client_authentication_is_accepted(participants: Participants) -> None:
    """RFC 6749 §2.3.1: the client id and secret may come in an HTTP Basic header instead of the form."""
    mc = await participants.new("MC", ["MC"], enrol=False)
    pair = f"{mc.credentials.client_id}:{mc.credentials.client_secret}".encode()

    response = await mc.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(pair).decode()},
    )

    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"


@pytest.mark.parametrize(
    ("overrides", "status", "error"),
    [
        ({"client_secret": "wrong-secret"}, 401, "invalid_client"),
        ({"client_id": "nobody-00000000"}, 401, "invalid_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": "authorization_code"}, 400, "unsupported_grant_type"),
    ],
    ids=["wrong secret", "unknown client", "password grant", "authorization code grant"],
)
async def test_bad_token_requests_answer_as_rfc_6749_says(
    participants: Participants, overrides: dict[str, str], status: int, error: str
) -> None:
    """Bad credentials → 401 invalid_client; another grant type → 400 unsupported_grant_type; no token either way."""
    mc = await participants.new("MC", ["MC"], enrol=False)

    response = await token_request(mc.http, **credentials_form(mc, **overrides))

    assert_oauth_error(response, status, error)


async def test_a_token_request_without_grant_type_is_an_invalid_request(participants: Participants) -> None:
    """A form missing grant_type → 400 invalid_request (RFC 6749 §5.2)."""
    mc = await participants.new("MC", ["MC"], enrol=False)
    form = credentials_form(mc)
    del form["grant_type"]

    response = await token_request(mc.http, **form)

    assert_oauth_error(response, 400, "invalid_request")


async def test_requested_entities_the_client_lacks_are_dropped_silently(participants: Participants) -> None:
    """scope "PQD_BPQD IDX_ADMIN BID_ENERGY" for a PQD client grants only PQD_BPQD, and the token acts so."""
    mc = await participants.new("MC", ["MC"], enrol=False)

    response = await token_request(mc.http, **credentials_form(mc, scope="PQD_BPQD IDX_ADMIN BID_ENERGY"))

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["scope"].split() == ["PQD_BPQD"]
    bearer = {"Authorization": f"Bearer {answer['access_token']}"}
    assert (await mc.http.get(PATH, headers=bearer)).status_code == 200
    assert_forbidden(await mc.http.get("/certs/v1/certificates", headers=bearer))
    assert_forbidden(
        await mc.http.post(
            "/admin/v1/participants",
            json={"participantId": "ZZSCOPE", "name": "x", "roles": ["MC"]},
            headers=bearer,
        )
    )


async def test_a_token_without_pqd_bpqd_is_forbidden_on_every_bpqd_call(participants: Participants) -> None:
    """A token scoped to TLS_CERTIFICATE_MANAGEMENT only → 403 on POST, GET list, GET one and DELETE of BPQD."""
    mc, lnsp = await participants.mc_and_lnsp()
    await mc.login(scope="TLS_CERTIFICATE_MANAGEMENT")
    body = sample_body(mc.participant_id, [lnsp.participant_id])

    assert_forbidden(await mc.submit(body))
    assert_forbidden(await mc.list_queue())
    context_id = new_context_id("pqd", "bpqd", "Medium", mc.participant_id)
    assert_forbidden(await mc.fetch(context_id))
    assert_forbidden(await mc.delete(context_id))
    assert (await mc.http.get("/certs/v1/certificates", headers=mc.headers())).status_code == 200
    assert await settled_queue(await participants.new("MC", ["MC"]), lnsp) == []


# --- Bearer tokens -------------------------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def forged_with_another_key(token: str) -> str:
    return "Bearer " + jwt.encode(_claims(token), secrets.token_bytes(32), algorithm="HS256")


def tampered_payload(token: str) -> str:
    header, _, signature = token.split(".")
    claims = {**_claims(token), "scope": "PQD_BPQD IDX_ADMIN"}
    payload = _b64url(json.dumps(claims).encode())
    return f"Bearer {header}.{payload}.{signature}"


def unsigned_alg_none(token: str) -> str:
    header = _b64url(b'{"alg":"none","typ":"JWT"}')
    return f"Bearer {header}.{_b64url(json.dumps(_claims(token)).encode())}."


def extended_expiry(token: str) -> str:
    header, _, signature = token.split(".")
    claims = {**_claims(token), "exp": int(time.time()) + 10 * 365 * 86400}
    return f"Bearer {header}.{_b64url(json.dumps(claims).encode())}.{signature}"


def truncated_signature(token: str) -> str:
    return "Bearer " + token[:-4]


AUTHORIZATIONS: list[tuple[str, Callable[[str], str | None]]] = [
    ("no Authorization header", lambda _: None),
    ("Bearer with no token", lambda _: "Bearer"),
    ("Basic scheme", lambda _: "Basic " + base64.b64encode(b"a:b").decode()),
    ("not a JWT", lambda _: "Bearer not-a-jwt"),
    ("three garbage segments", lambda _: "Bearer aaa.bbb.ccc"),
    ("token without scheme", lambda token: token),
    ("signed with another key", forged_with_another_key),
    ("payload tampered", tampered_payload),
    ("expiry tampered", extended_expiry),
    ("alg none", unsigned_alg_none),
    ("signature truncated", truncated_signature),
]


@pytest.mark.parametrize("make", [make for _, make in AUTHORIZATIONS], ids=[name for name, _ in AUTHORIZATIONS])
async def test_a_missing_malformed_or_forged_token_is_a_401_with_a_challenge(
    participants: Participants, make: Callable[[str], str | None]
) -> None:
    """GET and POST /pqd/v1/bpqd without a genuine token → 401 problem with WWW-Authenticate: Bearer."""
    mc = await participants.new("MC", ["MC"])
    assert mc.token is not None
    authorization = make(mc.token)
    headers = {} if authorization is None else {"Authorization": authorization}

    assert_unauthorized(await mc.http.get(PATH, headers=headers))
    body = sample_body(mc.participant_id, [mc.participant_id])
    submit_headers = {
        **headers,
        "x-initiatingParticipantId": mc.participant_id,
        "x-messageContextId": new_context_id("pqd", "bpqd", "Medium", mc.participant_id),
        "x-signature": mc.sign(body),
    }
    assert_unauthorized(await mc.http.post(PATH, content=body, headers=submit_headers))


async def test_a_token_expires_after_3599_seconds_on_the_exchange_clock(
    participants: Participants, operator: ParticipantClient
) -> None:
    """A token still works 3590 s after issue and is a 401 once the exchange clock passes 3600 s; a new one works."""
    lnsp = await participants.new("LN", ["LNSP"], enrol=False)
    old_token = lnsp.token

    async def advance(seconds: int) -> None:
        await operator.login()
        moved = await operator.http.post(
            "/admin/v1/clock", json={"advanceSeconds": seconds}, headers=operator.headers()
        )
        assert moved.status_code == 200, moved.text

    await advance(3590)
    assert (await lnsp.list_queue()).status_code == 200
    await advance(10)
    assert_unauthorized(await lnsp.list_queue())
    assert_unauthorized(await lnsp.http.get("/certs/v1/certificates", headers=lnsp.headers()))

    await lnsp.login()
    assert lnsp.token != old_token
    assert (await lnsp.list_queue()).status_code == 200


# --- Acting for someone else, roles ----------------------------------------------------------------------------------


async def test_acting_for_another_participant_is_forbidden(participants: Participants) -> None:
    """x-initiatingParticipantId (and context id) naming another MC than the token's → 403, nothing delivered."""
    mc = await participants.new("MC", ["MC"])
    victim = await participants.new("MC", ["MC"], enrol=False)
    lnsp = await participants.new("LN", ["LNSP"], enrol=False)
    body = sample_body(victim.participant_id, [lnsp.participant_id])

    response = await mc.submit(
        body,
        context_id=new_context_id("pqd", "bpqd", "Medium", victim.participant_id),
        extra_headers={"x-initiatingParticipantId": victim.participant_id},
    )

    assert_forbidden(response)
    assert await settled_queue(await participants.new("MC", ["MC"]), lnsp) == []


async def test_a_role_that_may_not_send_bpqd_is_forbidden(participants: Participants) -> None:
    """An LNSP holding PQD_BPQD and a nominated certificate still may not send BPQD: 403, nothing delivered."""
    sender = await participants.new("LN", ["LNSP"])
    lnsp = await participants.new("LN", ["LNSP"], enrol=False)
    body = sample_body(sender.participant_id, [lnsp.participant_id])

    response = await sender.submit(body)

    assert_forbidden(response)
    assert await settled_queue(await participants.new("MC", ["MC"]), lnsp) == []


# --- Administration -------------------------------------------------------------------------------------------------


async def test_administration_needs_idx_admin(participants: Participants) -> None:
    """A participant's token (no IDX_ADMIN) → 403 on every admin call; no token → 401."""
    mc = await participants.new("MC", ["MC"], enrol=False)
    new = {"participantId": "ZZADMIN", "name": "nope", "roles": ["MC"]}

    assert_forbidden(await mc.http.post("/admin/v1/participants", json=new, headers=mc.headers()))
    assert_forbidden(await mc.http.get("/admin/v1/participants", headers=mc.headers()))
    assert_forbidden(
        await mc.http.post(
            f"/admin/v1/participants/{mc.participant_id}/clients", json={"scopes": ["IDX_ADMIN"]}, headers=mc.headers()
        )
    )
    assert_forbidden(await mc.http.post("/admin/v1/clock", json={"advanceSeconds": 1}, headers=mc.headers()))
    assert_unauthorized(await mc.http.post("/admin/v1/participants", json=new))


async def test_registering_an_existing_participant_is_a_conflict(
    participants: Participants, operator: ParticipantClient
) -> None:
    """POST /admin/v1/participants for an id that exists → 409, and the original stays as it was."""
    mc = await participants.new("MC", ["MC"], enrol=False)

    again = await operator.http.post(
        "/admin/v1/participants",
        json={"participantId": mc.participant_id, "name": "usurper", "roles": ["LNSP"]},
        headers=operator.headers(),
    )

    assert_problem(again, 409)
    listed = (await operator.http.get("/admin/v1/participants", headers=operator.headers())).json()["data"]
    (entry,) = [p for p in listed if p["participantId"] == mc.participant_id]
    assert entry["roles"] == ["MC"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"participantId": "lower", "name": "x", "roles": ["MC"]}, ["participantId"]),
        ({"participantId": "TOOLONGID12", "name": "x", "roles": ["MC"]}, ["participantId"]),
        ({"participantId": "ZZROLE", "name": "x", "roles": ["MC", "BAKER"]}, ["roles[1]"]),
        ({"participantId": "ZZNOROLE", "name": "x", "roles": []}, ["roles"]),
    ],
    ids=["lower-case id", "id of 11 characters", "unknown role", "no role"],
)
async def test_an_invalid_participant_is_a_422(
    operator: ParticipantClient, body: dict[str, Any], fields: list[str]
) -> None:
    """Participant ids outside ^[A-Z0-9]{1,10}$ or unknown roles → 422 naming the field; nothing is registered."""
    response = await operator.http.post("/admin/v1/participants", json=body, headers=operator.headers())

    assert_problem(response, 422, fields)
    listed = (await operator.http.get("/admin/v1/participants", headers=operator.headers())).json()["data"]
    assert body["participantId"] not in [p["participantId"] for p in listed]


async def test_a_client_for_an_unknown_participant_is_a_404(operator: ParticipantClient) -> None:
    """POST /admin/v1/participants/{id}/clients for a participant that does not exist → 404."""
    response = await operator.http.post(
        "/admin/v1/participants/ZZNOBODY/clients", json={"scopes": ["PQD_BPQD"]}, headers=operator.headers()
    )

    assert_problem(response, 404)


async def test_a_client_with_an_unknown_entity_is_a_422(
    participants: Participants, operator: ParticipantClient
) -> None:
    """Client scopes must be entities: an unknown one → 422 naming `scopes[i]`."""
    mc = await participants.new("MC", ["MC"], enrol=False)

    response = await operator.http.post(
        f"/admin/v1/participants/{mc.participant_id}/clients",
        json={"scopes": ["PQD_BPQD", "ROOT"]},
        headers=operator.headers(),
    )

    assert_problem(response, 422, ["scopes[1]"])


async def test_the_participant_list_includes_the_operator(operator: ParticipantClient) -> None:
    """GET /admin/v1/participants lists OPERATOR with the role OPERATOR."""
    response = await operator.http.get("/admin/v1/participants", headers=operator.headers())

    assert response.status_code == 200, response.text
    (entry,) = [p for p in response.json()["data"] if p["participantId"] == "OPERATOR"]
    assert entry["roles"] == ["OPERATOR"]


# --- Open endpoints -------------------------------------------------------------------------------------------------


async def test_the_hub_certificates_need_no_token(participants: Participants) -> None:
    """GET /certs/v1/hub without a token → 200 with the CA and hub certificates as PEM, the hub's issued by the CA."""
    mc = await participants.new("MC", ["MC"], enrol=False)

    response = await mc.http.get("/certs/v1/hub")

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    ca = x509.load_pem_x509_certificate(data["caCertificate"].encode())
    hub = x509.load_pem_x509_certificate(data["hubCertificate"].encode())
    assert hub.issuer == ca.subject


async def test_healthz_says_ok(participants: Participants) -> None:
    """GET /healthz → 200 with {"status": "ok"}, the process part and the delivery lag, no token needed."""
    mc = await participants.new("MC", ["MC"], enrol=False)

    response = await mc.http.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "process": {"pid": ANY, "leases": ANY}, "deliveryLagSeconds": ANY}


async def test_the_openapi_document_lists_the_concrete_bpqd_paths(participants: Participants) -> None:
    """GET /schema/openapi.json (no token) lists /pqd/v1/bpqd (GET, POST) and its /{messageContextId} (GET, DELETE)."""
    mc = await participants.new("MC", ["MC"], enrol=False)

    response = await mc.http.get("/schema/openapi.json")

    assert response.status_code == 200, response.text
    document = response.json()
    assert document["openapi"].startswith("3.1")
    paths = document["paths"]
    assert {"get", "post"} <= set(paths["/pqd/v1/bpqd"])
    assert {"get", "delete"} <= set(paths["/pqd/v1/bpqd/{messageContextId}"])
