"""Signatures and signing certificates: only the sender's nominated, exchange-issued certificate signs a message."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certs.signature import format_signature, sign_detached
from exchange.functions.bpqd.sample import sample_body
from simulators.client import ParticipantClient, make_csr, new_key
from tests.crafted_cms import NAMES as CRAFTED
from tests.crafted_cms import crafted
from tests.e2e.conftest import Participants
from tests.e2e.queue_helpers import settled_queue, wait_for_queue
from tests.problems import assert_problem

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def assert_signature_refused(response: httpx.Response) -> None:
    assert_problem(response, 403, kind="signature")


async def issue(client: ParticipantClient, key: SigningKey, common_name: str | None = None) -> dict[str, Any]:
    """Have the exchange issue a certificate for `key` (not nominated); its `data`."""
    response = await client.http.post(
        "/certs/v1/certificates",
        json={"csr": csr_pem(key, common_name or f"{client.participant_id}-extra")},
        headers=client.headers(),
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def nominate(client: ParticipantClient, primary: str, secondary: str | None = None) -> httpx.Response:
    return await client.http.put(
        "/certs/v1/nominations", json={"primary": primary, "secondary": secondary}, headers=client.headers()
    )


def csr_pem(key: SigningKey, common_name: str) -> str:
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM).decode()


def certificate_of(issued: dict[str, Any]) -> x509.Certificate:
    return x509.load_pem_x509_certificate(str(issued["certificate"]).encode())


def foreign_certificate(
    common_name: str, *, ca_subject: x509.Name | None = None, serial: int | None = None
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """A signing certificate from a CA of our own making (optionally wearing another CA's name and a chosen serial)."""
    ca_key = new_key()
    ca_name = ca_subject or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Foreign Test CA")])
    now = datetime.now(UTC)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=7300))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = new_key()
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf.verify_directly_issued_by(ca)  # a well-formed chain: refusal can only be for the CA it chains to
    return leaf, leaf_key


def cms(body: bytes, certificate: x509.Certificate, key: SigningKey, *, detached: bool, digest: Any) -> str:
    options = [pkcs7.PKCS7Options.Binary]
    if detached:
        options.append(pkcs7.PKCS7Options.DetachedSignature)
    der = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(body)
        .add_signer(certificate, key, digest)
        .sign(serialization.Encoding.DER, options)
    )
    return format_signature(der)


# Each builder gets the sender, a fresh participant factory and the body to be sent; it returns the x-signature.
SignatureBuilder = Callable[[ParticipantClient, Participants, bytes], Awaitable[str]]


async def over_another_body(mc: ParticipantClient, made: Participants, body: bytes) -> str:
    other = sample_body(mc.participant_id, [mc.participant_id], seed=99)
    assert other != body
    return mc.sign(other)


async def by_another_participant(mc: ParticipantClient, made: Participants, body: bytes) -> str:
    other = await made.new("MC", ["MC"])
    return other.sign(body)


async def by_a_foreign_ca(mc: ParticipantClient, made: Participants, body: bytes) -> str:
    certificate, key = foreign_certificate(f"{mc.participant_id}-signing")
    return sign_detached(body, certificate, key)


async def by_an_impostor_of_the_exchange_ca(mc: ParticipantClient, made: Participants, body: bytes) -> str:
    """Same issuer name as the exchange CA and the serial of the sender's nominated certificate, another key."""
    assert mc.certificate is not None
    hub = (await mc.http.get("/certs/v1/hub")).json()["data"]
    exchange_ca = x509.load_pem_x509_certificate(hub["caCertificate"].encode())
    certificate, key = foreign_certificate(
        f"{mc.participant_id}-signing", ca_subject=exchange_ca.subject, serial=mc.certificate.serial_number
    )
    return sign_detached(body, certificate, key)


async def by_own_unnominated_certificate(mc: ParticipantClient, made: Participants, body: bytes) -> str:
    key = new_key()
    issued = await issue(mc, key)
    assert issued.get("nomination") is None
    return sign_detached(body, certificate_of(issued), key)


async def with_the_right_certificate_and_the_wrong_key(mc: ParticipantClient, made: Participants, body: bytes) -> str:
    assert mc.certificate is not None
    return sign_detached(body, mc.certificate, new_key())


async def attached(mc: ParticipantClient, made: Participants, body: bytes) -> str:
    assert mc.certificate is not None and mc.key is not None
    return cms(body, mc.certificate, mc.key, detached=False, digest=hashes.SHA256())


async def with_sha512_digest(mc: ParticipantClient, made: Participants, body: bytes) -> str:
    assert mc.certificate is not None and mc.key is not None
    return cms(body, mc.certificate, mc.key, detached=True, digest=hashes.SHA512())


RSA_ENCRYPTION_OID = bytes.fromhex("06092A864886F70D010101")  # DER of 1.2.840.113549.1.1.1


async def with_the_embedded_key_algorithm_damaged(mc: ParticipantClient, made: Participants, body: bytes) -> str:
    """A real signature whose embedded certificate names an unknown key algorithm (1.2.840.113549.1.1.99)."""
    assert mc.certificate is not None and mc.key is not None
    der = base64.b64decode(sign_detached(body, mc.certificate, mc.key).split(";", 1)[1])
    assert RSA_ENCRYPTION_OID in der
    # The certificate comes before the signer info, so the first occurrence is its public key's algorithm.
    return format_signature(der.replace(RSA_ENCRYPTION_OID, RSA_ENCRYPTION_OID[:-1] + b"\x63", 1))


def fixed(value: str) -> SignatureBuilder:
    async def build(mc: ParticipantClient, made: Participants, body: bytes) -> str:
        return value

    return build


def _good_scheme_bad_cms() -> str:
    return "RSA-SHA256;" + base64.b64encode(b"this is not DER CMS").decode()


REFUSED: list[tuple[str, SignatureBuilder]] = [
    ("body changed after signing", over_another_body),
    ("another participant's nominated certificate", by_another_participant),
    ("certificate from a foreign CA", by_a_foreign_ca),
    ("impostor CA with the exchange CA's name and the sender's serial", by_an_impostor_of_the_exchange_ca),
    ("sender's own certificate, not nominated", by_own_unnominated_certificate),
    ("nominated certificate embedded, another key signed", with_the_right_certificate_and_the_wrong_key),
    ("embedded certificate's key algorithm damaged", with_the_embedded_key_algorithm_damaged),
    ("attached (non-detached) CMS", attached),
    ("SHA-512 digest", with_sha512_digest),
    ("RSA-SHA256 scheme, base64 garbage", fixed("RSA-SHA256;!!!")),
    ("SHA1 scheme", fixed("SHA1;abc")),
    ("RSA-SHA256 scheme, nothing after it", fixed("RSA-SHA256;")),
    ("RSA-SHA256 scheme, base64 of non-CMS", fixed(_good_scheme_bad_cms())),
    ("no scheme", fixed("abc")),
]


@pytest.mark.parametrize("build", [b for _, b in REFUSED], ids=[name for name, _ in REFUSED])
async def test_a_signature_that_is_not_the_senders_nominated_one_over_this_body_is_refused(
    participants: Participants, build: SignatureBuilder
) -> None:
    """A valid body with a bad, foreign, unnominated or malformed signature → 403 `/signature`, nothing queued."""
    mc = await participants.new("MC", ["MC"])
    lnsp = await participants.new("LN", ["LNSP"], enrol=False)
    body = sample_body(mc.participant_id, [lnsp.participant_id])

    response = await mc.submit(body, signature=await build(mc, participants, body))

    assert_signature_refused(response)
    assert await settled_queue(mc, lnsp) == []


@pytest.mark.parametrize("craft", CRAFTED)
async def test_a_crafted_cms_signature_is_refused_and_nothing_is_queued(participants: Participants, craft: str) -> None:
    """Zero or two signers, a content-type attribute missing, empty or different, the message digest missing, an
    embedded certificate damaged or of an invalid version (signer named by subjectKeyIdentifier), each by the
    sender's own nominated key: 403 `/signature`, never a 500, and nothing reaches the recipient's queue."""
    mc = await participants.new("MC", ["MC"])
    lnsp = await participants.new("LN", ["LNSP"], enrol=False)
    assert mc.certificate is not None and mc.key is not None
    body = sample_body(mc.participant_id, [lnsp.participant_id])

    response = await mc.submit(body, signature=format_signature(crafted(craft, body, mc.certificate, mc.key)))

    assert_signature_refused(response)
    assert await settled_queue(mc, lnsp) == []


async def test_a_resubmission_must_be_signed_by_the_sender_as_well(participants: Participants) -> None:
    """An accepted messageContextId sent again with the same body but a garbage, foreign or other participant's
    signature: 403 `/signature` and no receipt; only the sender's own signature gets the original receipt back."""
    mc = await participants.new("MC", ["MC"])
    other = await participants.new("MC", ["MC"])
    lnsp = await participants.new("LN", ["LNSP"], enrol=False)
    body = sample_body(mc.participant_id, [lnsp.participant_id])
    accepted = await mc.submit(body)
    assert accepted.status_code == 200, accepted.text
    context_id = accepted.json()["data"]["messageContextId"]
    foreign, foreign_key = foreign_certificate(f"{mc.participant_id}-signing")

    for signature in (
        "RSA-SHA256;" + base64.b64encode(b"garbage").decode(),
        sign_detached(body, foreign, foreign_key),
        other.sign(body),
    ):
        refused = await mc.submit(body, context_id=context_id, signature=signature)
        assert_signature_refused(refused)
        assert "receipt" not in refused.text, refused.text

    again = await mc.submit(body, context_id=context_id)
    assert again.status_code == 200, again.text
    assert again.json() == accepted.json()
    assert await settled_queue(mc, lnsp) == [context_id]


async def test_after_renomination_the_old_primary_is_refused_and_the_new_one_accepted(
    participants: Participants,
) -> None:
    """PUT a new primary (no secondary): the old certificate's signatures → 403, the new one's → 200 and delivered."""
    mc = await participants.new("MC", ["MC"])
    lnsp = await participants.new("LN", ["LNSP"], enrol=False)
    key = new_key()
    issued = await issue(mc, key)
    renominated = await nominate(mc, issued["serialNumber"])
    assert renominated.status_code == 200, renominated.text
    assert renominated.json()["data"] == {"primary": issued["serialNumber"], "secondary": None}

    old = sample_body(mc.participant_id, [lnsp.participant_id], seed=1)
    assert_signature_refused(await mc.submit(old, signature=mc.sign(old)))
    new = sample_body(mc.participant_id, [lnsp.participant_id], seed=2)
    accepted = await mc.submit(new, signature=sign_detached(new, certificate_of(issued), key))
    assert accepted.status_code == 200, accepted.text

    context_id = accepted.json()["data"]["messageContextId"]
    assert await wait_for_queue(lnsp, 1) == [context_id]
    marker = await participants.new("MC", ["MC"])  # mc's client still signs with the old certificate
    assert await settled_queue(marker, lnsp) == [context_id]


async def test_a_secondary_certificate_signs_as_well_as_the_primary(participants: Participants) -> None:
    """With primary = new and secondary = old, both certificates' signatures are accepted; the list shows both."""
    mc = await participants.new("MC", ["MC"])
    lnsp = await participants.new("LN", ["LNSP"], enrol=False)
    assert mc.certificate is not None
    old_serial = format(mc.certificate.serial_number, "x")
    key = new_key()
    issued = await issue(mc, key)
    nominated = await nominate(mc, issued["serialNumber"], old_serial)
    assert nominated.status_code == 200, nominated.text

    by_secondary = sample_body(mc.participant_id, [lnsp.participant_id], seed=1)
    first = await mc.submit(by_secondary, signature=mc.sign(by_secondary))
    assert first.status_code == 200, first.text
    by_primary = sample_body(mc.participant_id, [lnsp.participant_id], seed=2)
    second = await mc.submit(by_primary, signature=sign_detached(by_primary, certificate_of(issued), key))
    assert second.status_code == 200, second.text
    assert len(await wait_for_queue(lnsp, 2)) == 2

    current = (await mc.http.get("/certs/v1/nominations", headers=mc.headers())).json()["data"]
    assert current == {"primary": issued["serialNumber"], "secondary": old_serial}
    listed = (await mc.http.get("/certs/v1/certificates", headers=mc.headers())).json()["data"]
    assert {item["serialNumber"]: item["nomination"] for item in listed} == {
        issued["serialNumber"]: "primary",
        old_serial: "secondary",
    }


async def test_an_ec_p256_certificate_can_be_issued_and_sign(participants: Participants) -> None:
    """A CSR with an EC P-256 key → 201; nominated, its ECDSA signatures are accepted."""
    mc = await participants.new("MC", ["MC"])
    lnsp = await participants.new("LN", ["LNSP"], enrol=False)
    key = ec.generate_private_key(ec.SECP256R1())
    issued = await issue(mc, key)
    assert (await nominate(mc, issued["serialNumber"])).status_code == 200
    body = sample_body(mc.participant_id, [lnsp.participant_id])

    accepted = await mc.submit(body, signature=sign_detached(body, certificate_of(issued), key))

    assert accepted.status_code == 200, accepted.text
    assert await wait_for_queue(lnsp, 1) == [accepted.json()["data"]["messageContextId"]]


@pytest.mark.parametrize("role", ["primary", "secondary"])
async def test_nominating_another_participants_certificate_is_a_422(participants: Participants, role: str) -> None:
    """PUT /certs/v1/nominations with a serial of someone else → 422 naming the field; nominations unchanged."""
    mc = await participants.new("MC", ["MC"])
    other = await participants.new("MC", ["MC"])
    assert mc.certificate is not None and other.certificate is not None
    mine = format(mc.certificate.serial_number, "x")
    theirs = format(other.certificate.serial_number, "x")

    if role == "primary":
        response = await nominate(mc, theirs)
    else:
        response = await nominate(mc, mine, theirs)

    assert_problem(response, 422, [role])
    current = (await mc.http.get("/certs/v1/nominations", headers=mc.headers())).json()["data"]
    assert current == {"primary": mine, "secondary": None}
    theirs_current = (await other.http.get("/certs/v1/nominations", headers=other.headers())).json()["data"]
    assert theirs_current == {"primary": theirs, "secondary": None}


async def test_nominating_an_unknown_serial_is_a_422(participants: Participants) -> None:
    """A serial no certificate has → 422 naming `primary`."""
    mc = await participants.new("MC", ["MC"])

    assert_problem(await nominate(mc, "abcdef0123456789"), 422, ["primary"])


async def test_another_participants_certificate_is_not_found(participants: Participants) -> None:
    """GET /certs/v1/certificates/{serial} of someone else's certificate → 404 (existence is not revealed)."""
    mc = await participants.new("MC", ["MC"])
    other = await participants.new("MC", ["MC"])
    assert other.certificate is not None

    response = await mc.http.get(
        f"/certs/v1/certificates/{format(other.certificate.serial_number, 'x')}", headers=mc.headers()
    )

    assert_problem(response, 404)


CSRS: list[tuple[str, Callable[[str], str]]] = [
    ("CN of another participant", lambda pid: csr_pem(new_key(), "ZZSOMEONE-signing")),
    ("RSA 1024", lambda pid: csr_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024), f"{pid}-x")),
    ("EC P-384", lambda pid: csr_pem(ec.generate_private_key(ec.SECP384R1()), f"{pid}-x")),
    ("no common name", lambda pid: csr_pem_without_cn()),
    ("not a CSR", lambda pid: "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"),
]


def csr_pem_without_cn() -> str:
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "No CN Pty Ltd")]))
        .sign(new_key(), hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize("make", [m for _, m in CSRS], ids=[name for name, _ in CSRS])
async def test_an_unacceptable_csr_is_a_422_naming_csr(participants: Participants, make: Callable[[str], str]) -> None:
    """A CSR for someone else, with a weak or unsupported key, without CN or unreadable → 422 with field `csr`."""
    mc = await participants.new("MC", ["MC"], enrol=False)

    response = await mc.http.post("/certs/v1/certificates", json={"csr": make(mc.participant_id)}, headers=mc.headers())

    assert_problem(response, 422, ["csr"])
    listed = await mc.http.get("/certs/v1/certificates", headers=mc.headers())
    assert listed.status_code == 200, listed.text
    assert listed.json()["data"] == []


async def test_the_default_csr_helper_makes_an_acceptable_csr(participants: Participants) -> None:
    """Control for the CSR table: the same call with a good RSA 2048 CSR for oneself → 201, active, unnominated."""
    mc = await participants.new("MC", ["MC"], enrol=False)

    response = await mc.http.post(
        "/certs/v1/certificates", json={"csr": make_csr(new_key(), f"{mc.participant_id}-ok")}, headers=mc.headers()
    )

    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["status"] == "active"
    assert data["serialNumber"] == format(certificate_of(data).serial_number, "x")
