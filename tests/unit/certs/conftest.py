"""Fixtures for the certificate tests: one exchange CA per session, keys and CSRs on demand."""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from certs.authority import CertificateAuthority

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
CsrKey = SigningKey | ed25519.Ed25519PrivateKey
CsrFactory = Callable[..., bytes]

NOW = datetime.now(UTC)


@pytest.fixture(scope="session")
def now() -> datetime:
    """The fixed moment every certificate test treats as the present."""
    return NOW


@pytest.fixture(scope="session")
def authority_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("authority")


@pytest.fixture(scope="session")
def authority(authority_dir: Path, now: datetime) -> CertificateAuthority:
    """The exchange CA, created once: RSA 3072 key generation is too slow to repeat per test."""
    return CertificateAuthority.load_or_create(authority_dir, now)


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="session")
def make_csr() -> CsrFactory:
    """Build a PEM CSR: make_csr(key, common_name=...) (common_name=None leaves the CN out)."""

    def build(key: CsrKey, common_name: str | None = "MC1-primary") -> bytes:
        attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Metering Co")]
        if common_name is not None:
            attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
        # Ed25519 hashes internally, so cryptography wants no hash algorithm for it.
        algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
        csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attributes)).sign(key, algorithm)
        return csr.public_bytes(serialization.Encoding.PEM)

    return build


@pytest.fixture(scope="session")
def rsa_participant(
    authority: CertificateAuthority, rsa_key: rsa.RSAPrivateKey, make_csr: CsrFactory, now: datetime
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """An RSA certificate of participant MC1 and its key."""
    return authority.issue(make_csr(rsa_key), "MC1", now), rsa_key


@pytest.fixture(scope="session")
def ec_participant(
    authority: CertificateAuthority, ec_key: ec.EllipticCurvePrivateKey, make_csr: CsrFactory, now: datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """An EC P-256 certificate of participant MC1 and its key."""
    return authority.issue(make_csr(ec_key), "MC1", now), ec_key


@pytest.fixture(scope="session")
def foreign_authority(tmp_path_factory: pytest.TempPathFactory, now: datetime) -> CertificateAuthority:
    """A second, unrelated CA built the same way as the exchange's."""
    return CertificateAuthority.load_or_create(tmp_path_factory.mktemp("foreign"), now)
