"""Helpers of the certificate end-to-end tests: CSRs for any key, and certificates read from the API's answers."""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

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
