"""The certificate lifecycle from outside: issue, list, renew, reissue, revoke, expiry warnings, and proofs that
tools nobody here wrote (the openssl command line) accept.

Tests that move the test clock far use `aging_server`, an exchange of their own: the clock is global to a server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from certs.signature import format_signature, parse_signature_header, sign_detached
from exchange.functions.bpqd.sample import sample_body
from simulators.client import ParticipantClient, new_key
from tests.e2e.certificates import SigningKey, certificate_of, csr_pem, issue, nominate
from tests.e2e.conftest import Participants, operator_of
from tests.e2e.queue_helpers import queued_ids, settled_queue, wait_for_queue
from tests.harness import ServerProcess, running_server
from tests.openssl import openssl
from tests.problems import assert_problem

DAY = 86_400
LIFETIME_DAYS = 1095

needs_openssl = pytest.mark.interop  # `make test` installs openssl: a missing one fails, never skips


# --- helpers -------------------------------------------------------------------------------------------------


def assert_signature_refused(response: httpx.Response, reason: str) -> None:
    problem = assert_problem(response, 403, kind="signature")
    assert reason in problem["detail"], problem


async def post_csr(client: ParticipantClient, path: str, csr: str) -> httpx.Response:
    return await client.http.post(path, json={"csr": csr}, headers=client.headers())


async def certificate(client: ParticipantClient, serial: str) -> dict[str, Any]:
    response = await client.http.get(f"/certs/v1/certificates/{serial}", headers=client.headers())
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def status_warnings(client: ParticipantClient) -> list[dict[str, Any]]:
    response = await client.http.get("/certs/v1/status", headers=client.headers())
    assert response.status_code == 200, response.text
    warnings: list[dict[str, Any]] = response.json()["data"]["warnings"]
    return warnings


async def advance(operator: ParticipantClient, days: float, *clients: ParticipantClient) -> None:
    """Move the test clock, then log everyone in again: their tokens expired on the way."""
    await operator.login()
    moved = await operator.http.post("/admin/v1/clock", json={"advanceSeconds": days * DAY}, headers=operator.headers())
    assert moved.status_code == 200, moved.text
    for client in (operator, *clients):
        await client.login()


def signed_with(key: SigningKey, data: dict[str, Any], body: bytes) -> str:
    return sign_detached(body, certificate_of(data), key)


def openssl_verify(workdir: Path, name: str, signature: str, content: bytes, ca_pem: str) -> None:
    """`openssl cms -verify -binary -inform DER -content FILE -CAfile CA.pem` accepts the signature."""
    der, data, ca = workdir / f"{name}.der", workdir / f"{name}.content", workdir / f"{name}-ca.pem"
    der.write_bytes(parse_signature_header(signature))
    data.write_bytes(content)
    ca.write_text(ca_pem)
    verify = ["cms", "-verify", "-binary", "-inform", "DER", "-in", der, "-content", data, "-CAfile", ca]
    verified = openssl(*verify, "-out", "/dev/null")
    assert verified.returncode == 0, verified.stderr


# --- list, get, issue ------------------------------------------------------------------------------------------


async def test_the_list_shows_every_own_certificate_with_status_nomination_and_expiry_flag(
    participants: Participants,
) -> None:
    """GET /certs/v1/certificates lists own certificates, oldest first, with status, nomination and expiresSoon."""
    mc = await participants.new("MC", ["MC"])
    assert mc.certificate is not None
    extra = await issue(mc, new_key())
    response = await mc.http.get("/certs/v1/certificates", headers=mc.headers())
    assert response.status_code == 200, response.text
    listed = response.json()
    assert [item["serialNumber"] for item in listed["data"]] == [
        format(mc.certificate.serial_number, "x"),
        extra["serialNumber"],
    ]
    assert [item["nomination"] for item in listed["data"]] == ["primary", None]
    assert {item["status"] for item in listed["data"]} == {"active"}
    assert {item["expiresSoon"] for item in listed["data"]} == {False}
    assert listed["meta"]["totalRecords"] == 2
    assert listed["meta"]["nextCursor"] is None
    item = listed["data"][1]
    assert item["chain"].startswith(item["certificate"])
    assert item["chain"].count("BEGIN CERTIFICATE") == 2


async def test_the_list_pages_with_a_cursor(participants: Participants) -> None:
    """itemCount=1 gives one certificate per page and a cursor to the next; the last page's cursor is null."""
    mc = await participants.new("MC", ["MC"])
    await issue(mc, new_key())
    first = (await mc.http.get("/certs/v1/certificates", params={"itemCount": 1}, headers=mc.headers())).json()
    assert len(first["data"]) == 1 and first["meta"]["totalPages"] == 2
    second = (
        await mc.http.get(
            "/certs/v1/certificates",
            params={"itemCount": 1, "cursor": first["meta"]["nextCursor"]},
            headers=mc.headers(),
        )
    ).json()
    assert len(second["data"]) == 1 and second["meta"]["nextCursor"] is None
    assert first["data"][0]["serialNumber"] != second["data"][0]["serialNumber"]


async def test_another_participants_certificate_is_indistinguishable_from_a_missing_one(
    participants: Participants,
) -> None:
    """GET, renew, reissue and revoke of another participant's serial answer 404 exactly as an unknown serial."""
    owner = await participants.new("MC", ["MC"])
    other = await participants.new("MC", ["MC"])
    assert owner.certificate is not None
    serial = format(owner.certificate.serial_number, "x")
    unknown = "1" + "0" * 30
    csr = csr_pem(new_key(), f"{other.participant_id}-x")
    for target in (serial, unknown):
        calls = [
            other.http.get(f"/certs/v1/certificates/{target}", headers=other.headers()),
            post_csr(other, f"/certs/v1/certificates/{target}/renew", csr),
            post_csr(other, f"/certs/v1/certificates/{target}/reissue", csr),
            other.http.post(f"/certs/v1/certificates/{target}/revoke", json={"reason": "x"}, headers=other.headers()),
        ]
        for response in await asyncio.gather(*calls):
            problem = assert_problem(response, 404)
            assert problem["detail"] == f"certificate {target} is not one of yours"
    assert (await certificate(owner, serial))["status"] == "active"


def _csr_for_another_participant(participant_id: str) -> str:
    return csr_pem(new_key(), "ZZ9-signing")


def _csr_with_a_longer_id(participant_id: str) -> str:
    return csr_pem(new_key(), f"{participant_id}7-signing")


def _rsa_1024(participant_id: str) -> str:
    return csr_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024), f"{participant_id}-signing")


def _ec_p384(participant_id: str) -> str:
    return csr_pem(ec.generate_private_key(ec.SECP384R1()), f"{participant_id}-signing")


def _hub_name(participant_id: str) -> str:
    return csr_pem(new_key(), "IDX Exchange Hub")


def _not_a_csr(participant_id: str) -> str:
    return "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"


CSR_REFUSALS = [
    ("another participant's CN", _csr_for_another_participant, "must begin with the participant id"),
    ("a CN naming a longer participant id", _csr_with_a_longer_id, "must begin with the participant id"),
    ("RSA-1024", _rsa_1024, "RSA 1024-bit keys are too short"),
    ("EC P-384", _ec_p384, "secp384r1"),
    ("the hub's CN", _hub_name, "must begin with the participant id"),
    ("not a CSR", _not_a_csr, "not a PEM certificate signing request"),
]


@pytest.mark.parametrize(("make", "reason"), [(m, r) for _, m, r in CSR_REFUSALS], ids=[n for n, _, _ in CSR_REFUSALS])
@pytest.mark.parametrize("endpoint", ["issue", "reissue"])
async def test_an_unacceptable_csr_is_a_422_naming_csr_with_the_reason(
    participants: Participants, make: Any, reason: str, endpoint: str
) -> None:
    """Every CSR refusal, by POST certificates or by reissue, is a 422 whose errors[0] is `csr` with the reason."""
    mc = await participants.new("MC", ["MC"])
    assert mc.certificate is not None
    path = "/certs/v1/certificates"
    if endpoint == "reissue":
        path = f"/certs/v1/certificates/{mc.certificate.serial_number:x}/reissue"
    problem = assert_problem(await post_csr(mc, path, make(mc.participant_id)), 422)
    assert problem["errors"][0]["field"] == "csr"
    assert reason in problem["errors"][0]["message"]
    listed = (await mc.http.get("/certs/v1/certificates", headers=mc.headers())).json()
    assert listed["meta"]["totalRecords"] == 1


# --- revoke ----------------------------------------------------------------------------------------------------


async def test_revoking_a_nominated_certificate_keeps_the_nomination_but_refuses_its_signatures(
    participants: Participants,
) -> None:
    """Revoke answers 200 with the revoked certificate; the nomination stays, the next submission is refused."""
    mc, lnsp = await participants.mc_and_lnsp(enrol_lnsp=True)
    assert mc.certificate is not None
    serial = format(mc.certificate.serial_number, "x")
    body = sample_body(mc.participant_id, [lnsp.participant_id])
    assert (await mc.submit(body)).status_code == 200
    assert await wait_for_queue(lnsp, 1)
    for context_id in await queued_ids(lnsp):
        await lnsp.delete(context_id)

    revoked = await mc.http.post(
        f"/certs/v1/certificates/{serial}/revoke", json={"reason": "key compromise"}, headers=mc.headers()
    )
    assert revoked.status_code == 200, revoked.text
    data = revoked.json()["data"]
    assert (data["serialNumber"], data["status"], data["revocationReason"]) == (serial, "revoked", "key compromise")
    assert data["revokedDateTime"]
    assert data["nomination"] == "primary"
    assert (await mc.http.get("/certs/v1/nominations", headers=mc.headers())).json()["data"]["primary"] == serial

    assert_signature_refused(await mc.submit(sample_body(mc.participant_id, [lnsp.participant_id], seed=1)), "revoked")
    marker = await participants.new("MC", ["MC"])  # mc's only certificate is revoked
    assert await settled_queue(marker, lnsp) == []
    warnings = await status_warnings(mc)
    assert [(w["kind"], w["serialNumber"], w["status"]) for w in warnings] == [
        ("nominatedNotActive", serial, "revoked")
    ]


async def test_a_revoke_without_a_reason_is_a_422_naming_reason(participants: Participants) -> None:
    """The reason is required and must not be blank; the certificate stays active."""
    mc = await participants.new("MC", ["MC"])
    assert mc.certificate is not None
    serial = format(mc.certificate.serial_number, "x")
    blank = await mc.http.post(f"/certs/v1/certificates/{serial}/revoke", json={"reason": "  "}, headers=mc.headers())
    assert assert_problem(blank, 422)["errors"][0]["field"] == "reason"
    missing = await mc.http.post(f"/certs/v1/certificates/{serial}/revoke", json={}, headers=mc.headers())
    assert_problem(missing, 422)
    assert (await certificate(mc, serial))["status"] == "active"


# --- reissue and renew without moving the clock -------------------------------------------------------------------


async def test_reissue_gives_a_new_key_the_same_term_and_leaves_nominations_to_put(
    participants: Participants,
) -> None:
    """Reissue → 201 with reissueOf and the old notAfter; the old one stays active and nominated until PUT."""
    mc, lnsp = await participants.mc_and_lnsp(enrol_lnsp=True)
    assert mc.certificate is not None and mc.key is not None
    old_serial = format(mc.certificate.serial_number, "x")
    key = new_key()
    response = await post_csr(
        mc, f"/certs/v1/certificates/{old_serial}/reissue", csr_pem(key, f"{mc.participant_id}-rekeyed")
    )
    assert response.status_code == 201, response.text
    new = response.json()["data"]
    old = await certificate(mc, old_serial)
    assert new["reissueOf"] == old_serial and new["renewalOf"] is None
    assert new["notAfter"] == old["notAfter"]
    assert (new["status"], new["nomination"]) == ("active", None)
    assert (old["status"], old["nomination"], old["successors"]) == ("active", "primary", [new["serialNumber"]])

    body = sample_body(mc.participant_id, [lnsp.participant_id])
    assert_signature_refused(await mc.submit(body, signature=signed_with(key, new, body)), "not")
    assert (await mc.submit(body)).status_code == 200  # the old key still signs

    assert (await nominate(mc, new["serialNumber"])).status_code == 200
    later = sample_body(mc.participant_id, [lnsp.participant_id], seed=2)
    assert (await mc.submit(later, signature=signed_with(key, new, later))).status_code == 200
    assert_signature_refused(
        await mc.submit(sample_body(mc.participant_id, [lnsp.participant_id], seed=3)), "nominated"
    )
    assert len(await wait_for_queue(lnsp, 2)) == 2


# --- openssl, end to end -----------------------------------------------------------------------------------------


@needs_openssl
async def test_an_openssl_csr_and_an_openssl_signature_are_accepted(participants: Participants, tmp_path: Path) -> None:
    """A key and CSR from `openssl req`, a signature from `openssl cms -sign -binary -outform DER`: 200."""
    mc = await participants.new("MC", ["MC"], enrol=False)
    lnsp = await participants.new("LN", ["LNSP"])
    key, csr, cert = tmp_path / "mc.key", tmp_path / "mc.csr", tmp_path / "mc.pem"
    subject = f"/CN={mc.participant_id}-openssl/O=Metering Co"
    made = openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", key, "-out", csr)
    assert made.returncode == 0, made.stderr
    issued = await post_csr(mc, "/certs/v1/certificates", csr.read_text())
    assert issued.status_code == 201, issued.text
    cert.write_text(issued.json()["data"]["certificate"])
    assert (await nominate(mc, issued.json()["data"]["serialNumber"])).status_code == 200

    body = sample_body(mc.participant_id, [lnsp.participant_id])
    body_path, signature = tmp_path / "body.json", tmp_path / "body.sig"
    body_path.write_bytes(body)
    sign = ["cms", "-sign", "-binary", "-outform", "DER", "-signer", cert, "-inkey", key]
    signed = openssl(*sign, "-in", body_path, "-out", signature)
    assert signed.returncode == 0, signed.stderr
    submitted = await mc.submit(body, signature=format_signature(signature.read_bytes()))
    assert submitted.status_code == 200, submitted.text
    assert len(await wait_for_queue(lnsp, 1)) == 1


@needs_openssl
async def test_receipts_and_hub_resignatures_verify_with_openssl_against_the_ca(
    participants: Participants, tmp_path: Path
) -> None:
    """The receipt (over id|sha256|time) and the x-signature of a fetched payload verify with openssl cms."""
    mc, lnsp = await participants.mc_and_lnsp(enrol_lnsp=True)
    body = sample_body(mc.participant_id, [lnsp.participant_id], nmis=2)
    submitted = await mc.submit(body)
    assert submitted.status_code == 200, submitted.text
    receipt = submitted.json()["data"]
    ca_pem = (await mc.http.get("/certs/v1/hub")).json()["data"]["caCertificate"]

    signed = f"{receipt['messageContextId']}|{receipt['payloadSha256']}|{receipt['receivedDateTime']}".encode()
    openssl_verify(tmp_path, "receipt", receipt["receipt"], signed, ca_pem)

    assert await wait_for_queue(lnsp, 1) == [receipt["messageContextId"]]
    fetched = await lnsp.fetch(receipt["messageContextId"])
    assert fetched.status_code == 200 and fetched.content == body
    openssl_verify(tmp_path, "hub", fetched.headers["x-signature"], fetched.content, ca_pem)
    openssl_verify(tmp_path, "original", fetched.headers["x-original-signature"], fetched.content, ca_pem)

    tampered = tmp_path / "tampered.content"
    tampered.write_bytes(signed.replace(b"|", b"!", 1))
    der = tmp_path / "receipt.der"
    refused = openssl(
        "cms", "-verify", "-binary", "-inform", "DER", "-in", der, "-content", tampered, "-CAfile",
        tmp_path / "receipt-ca.pem", "-out", "/dev/null",
    )  # fmt: skip
    assert refused.returncode != 0


async def test_the_hub_endpoint_publishes_the_ca_and_hub_certificates_without_a_token(server: ServerProcess) -> None:
    """GET /certs/v1/hub needs no token; the hub certificate is issued by the CA; no rollover yet."""
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        hub = (await http.get("/certs/v1/hub")).json()["data"]
    ca = x509.load_pem_x509_certificate(hub["caCertificate"].encode())
    x509.load_pem_x509_certificate(hub["hubCertificate"].encode()).verify_directly_issued_by(ca)
    assert hub["previousHubCertificates"] == []


async def test_a_fresh_certificate_raises_no_warning(participants: Participants) -> None:
    """GET /certs/v1/status is empty for a participant whose only certificate has three years left."""
    mc = await participants.new("MC", ["MC"])
    response = await mc.http.get("/certs/v1/status", headers=mc.headers())
    assert response.status_code == 200
    assert response.json()["data"] == {"warnings": [], "expiryWarningDays": 30}


# --- moving the clock: an exchange of their own ----------------------------------------------------------------


@pytest.fixture(scope="module")
def aging_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """An exchange whose test clock these tests move by years; tests enrol afresh and move it relative to now."""
    with running_server(tmp_path_factory.mktemp("aging") / "data", "--test-clock") as running:
        yield running


@pytest.fixture
async def aging(aging_server: ServerProcess) -> AsyncIterator[tuple[ParticipantClient, Participants]]:
    """The operator and the participant maker of conftest's `operator` and `participants`, on the aging exchange."""
    async with operator_of(aging_server) as operator, Participants(aging_server, operator) as made:
        yield operator, made


async def test_renewal_inside_the_window_gives_a_certificate_that_signs_once_nominated(
    aging: tuple[ParticipantClient, Participants],
) -> None:
    """60 days before expiry, renew → 201 with renewalOf and a full lifetime; it signs after PUT nominations."""
    aging_operator, made = aging
    mc = await made.new("MC", ["MC"])
    lnsp = await made.new("LN", ["LNSP"])
    assert mc.certificate is not None
    old_serial = format(mc.certificate.serial_number, "x")
    await advance(aging_operator, LIFETIME_DAYS - 60, mc, lnsp)

    key = new_key()
    response = await post_csr(mc, f"/certs/v1/certificates/{old_serial}/renew", csr_pem(key, f"{mc.participant_id}-2"))
    assert response.status_code == 201, response.text
    new = response.json()["data"]
    assert new["renewalOf"] == old_serial and new["nomination"] is None
    assert certificate_of(new).not_valid_after_utc - mc.certificate.not_valid_after_utc > timedelta(days=900)
    old = await certificate(mc, old_serial)
    assert (old["status"], old["nomination"], old["successors"]) == ("active", "primary", [new["serialNumber"]])

    body = sample_body(mc.participant_id, [lnsp.participant_id])
    assert_signature_refused(await mc.submit(body, signature=signed_with(key, new, body)), "nominated")
    assert (await nominate(mc, new["serialNumber"], old_serial)).status_code == 200
    assert (await mc.submit(body, signature=signed_with(key, new, body))).status_code == 200
    old_signed = sample_body(mc.participant_id, [lnsp.participant_id], seed=4)
    assert (await mc.submit(old_signed)).status_code == 200  # the secondary (old) signs too, until it expires
    assert len(await wait_for_queue(lnsp, 2)) == 2
