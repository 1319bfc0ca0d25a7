"""The exchange CA's CRL works with `openssl verify -crl_check`: a revoked certificate is refused, others pass."""

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from certs.authority import CertificateAuthority
from certs.crl import RevokedEntry
from tests.openssl import openssl

pytestmark = [pytest.mark.interop]


def _pem(item: x509.Certificate | x509.CertificateRevocationList) -> bytes:
    return item.public_bytes(serialization.Encoding.PEM)


def _issue(authority: CertificateAuthority, name: str, now: datetime) -> x509.Certificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return authority.issue(csr.public_bytes(serialization.Encoding.PEM), "MC1", now)


def _verify(workdir: Path, certificate: x509.Certificate) -> subprocess.CompletedProcess[str]:
    path = workdir / "cert.pem"
    path.write_bytes(_pem(certificate))
    return openssl("verify", "-crl_check", "-CAfile", workdir / "ca.pem", "-CRLfile", workdir / "crl.pem", path)


def test_openssl_refuses_a_just_revoked_certificate_and_accepts_an_active_one(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    authority = CertificateAuthority.load_or_create(tmp_path / "authority", now)
    revoked, active = _issue(authority, "MC1-revoked", now), _issue(authority, "MC1-active", now)
    (tmp_path / "ca.pem").write_bytes(_pem(authority.ca_certificate))
    crl = authority.revocation_list([RevokedEntry(revoked.serial_number, now)], now, number=1)
    (tmp_path / "crl.pem").write_bytes(_pem(crl))

    refused = _verify(tmp_path, revoked)
    assert refused.returncode != 0
    assert "certificate revoked" in refused.stdout + refused.stderr

    accepted = _verify(tmp_path, active)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert accepted.stdout.strip().endswith("OK")
