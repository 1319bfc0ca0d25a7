"""Helpers of the certificate end-to-end tests: CSRs for any key, issuing, nominating, reading certificates."""

from __future__ import annotations

from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from simulators.client import ParticipantClient

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def csr_pem(key: SigningKey, common_name: str) -> str:
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM).decode()


def certificate_of(issued: dict[str, Any]) -> x509.Certificate:
    """The certificate of an issued item (`data` of a certificate answer)."""
    return x509.load_pem_x509_certificate(str(issued["certificate"]).encode())


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
