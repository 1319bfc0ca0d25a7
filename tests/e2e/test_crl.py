"""The CA's revocation list from outside: `GET /certs/v1/crl` with no token, checked by openssl and `idx certs
verify --crl` as a recipient of an `x-original-signature` would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from simulators.client import ParticipantClient
from tests.e2e.conftest import Participants
from tests.harness import ServerProcess
from tests.openssl import openssl

IDX = Path(sys.executable).parent / "idx"
BODY = b'{"header": {"messageId": "m-1"}}\n'

needs_openssl = pytest.mark.interop  # `make test` installs openssl: a missing one fails, never skips


async def fetch_crl(server: ServerProcess) -> x509.CertificateRevocationList:
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        response = await anonymous.get("/certs/v1/crl")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pkix-crl"
    return x509.load_der_x509_crl(response.content)


async def fetch_ca(server: ServerProcess) -> x509.Certificate:
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        response = await anonymous.get("/certs/v1/hub")
    assert response.status_code == 200, response.text
    return x509.load_pem_x509_certificate(response.json()["data"]["caCertificate"].encode())


async def revoke(client: ParticipantClient) -> None:
    assert client.certificate is not None
    revoked = await client.http.post(
        f"/certs/v1/certificates/{client.certificate.serial_number:x}/revoke",
        json={"reason": "key compromise"},
        headers=client.headers(),
    )
    assert revoked.status_code == 200, revoked.text


def pem(item: x509.Certificate | x509.CertificateRevocationList) -> bytes:
    return item.public_bytes(serialization.Encoding.PEM)


@needs_openssl
async def test_the_crl_verifies_with_the_ca_and_lists_a_certificate_just_revoked(
    server: ServerProcess, participants: Participants, tmp_path: Path
) -> None:
    """After a revocation, the CRL (fetched with no token) is signed by the CA, lists the revoked certificate and
    makes `openssl verify -crl_check` refuse it while it accepts an active one."""
    revoked, active = await participants.new("MC", ["MC"]), await participants.new("MC", ["MC"])
    assert revoked.certificate is not None and active.certificate is not None
    await revoke(revoked)

    crl, ca = await fetch_crl(server), await fetch_ca(server)

    ca_key = ca.public_key()
    assert isinstance(ca_key, rsa.RSAPublicKey)
    assert crl.issuer == ca.subject and crl.is_signature_valid(ca_key)
    assert crl.get_revoked_certificate_by_serial_number(revoked.certificate.serial_number) is not None
    assert crl.get_revoked_certificate_by_serial_number(active.certificate.serial_number) is None
    (tmp_path / "ca.pem").write_bytes(pem(ca))
    (tmp_path / "crl.pem").write_bytes(pem(crl))

    def openssl_verify(certificate: x509.Certificate) -> subprocess.CompletedProcess[str]:
        (tmp_path / "cert.pem").write_bytes(pem(certificate))
        return openssl("verify", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "crl.pem", "cert.pem", cwd=tmp_path)

    refused = openssl_verify(revoked.certificate)
    assert refused.returncode != 0 and "certificate revoked" in refused.stdout + refused.stderr
    accepted = openssl_verify(active.certificate)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr


async def test_idx_certs_verify_with_the_crl_refuses_a_revoked_signer_and_accepts_an_active_one(
    server: ServerProcess, participants: Participants, tmp_path: Path
) -> None:
    """`idx certs verify --crl` exits 1 naming the revocation for a revoked signer and 0 for an active one."""
    revoked, active = await participants.new("MC", ["MC"]), await participants.new("MC", ["MC"])
    signatures = {"revoked": revoked.sign(BODY), "active": active.sign(BODY)}
    await revoke(revoked)
    (tmp_path / "ca.pem").write_bytes(pem(await fetch_ca(server)))
    (tmp_path / "crl.der").write_bytes((await fetch_crl(server)).public_bytes(serialization.Encoding.DER))
    (tmp_path / "body.json").write_bytes(BODY)

    def verify(signature: str, *crl: str) -> subprocess.CompletedProcess[str]:
        command = [str(IDX), "certs", "verify", "--signature", signature, "--ca", "ca.pem", *crl, "body.json"]
        return subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, check=False)

    refused = verify(signatures["revoked"], "--crl", "crl.der")
    assert refused.returncode == 1 and "was revoked" in refused.stderr, refused.stderr
    assert verify(signatures["active"], "--crl", "crl.der").returncode == 0
    # Without the CRL the revoked signer's signature still verifies: revocation is what --crl adds.
    assert verify(signatures["revoked"]).returncode == 0
