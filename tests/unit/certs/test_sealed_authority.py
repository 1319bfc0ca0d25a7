"""The authority as sealed PEM texts: what processes sharing a database store, keys encrypted with a passphrase."""

from datetime import UTC, datetime

import pytest

from certs.authority import EC_P256, CertificateAuthority
from certs.errors import KeyPassphraseError
from certs.signature import parse_signature_header, verify_detached

NOW = datetime(2026, 7, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def created() -> CertificateAuthority:
    return CertificateAuthority.create(NOW)


def test_a_sealed_authority_unseals_to_the_same_ca_and_hub(created: CertificateAuthority) -> None:
    """Unsealing with the passphrase gives back the CA and hub certificates and a hub key that signs as before."""
    unsealed = CertificateAuthority.unseal(created.sealed(b"passphrase"), b"passphrase")
    assert unsealed.ca_certificate == created.ca_certificate
    assert unsealed.hub_certificate == created.hub_certificate
    signer = verify_detached(parse_signature_header(unsealed.sign(b"payload")), b"payload")
    assert signer == created.hub_certificate
    created.hub_certificate.verify_directly_issued_by(unsealed.ca_certificate)


def test_the_sealed_private_keys_are_encrypted(created: CertificateAuthority) -> None:
    """Both private keys are PKCS#8 encrypted PEM; no key is in the clear."""
    sealed = created.sealed(b"passphrase")
    for name in ("ca.key", "hub.key"):
        assert sealed[name].startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert "BEGIN PRIVATE KEY" not in "".join(sealed.values())


def test_a_wrong_passphrase_is_a_key_passphrase_error(created: CertificateAuthority) -> None:
    """Another passphrase does not open the keys, and says so in the package's own terms."""
    with pytest.raises(KeyPassphraseError):
        CertificateAuthority.unseal(created.sealed(b"passphrase"), b"another")


def test_a_sealed_authority_with_an_ec_hub_key_signs_with_the_ecdsa_prefix_after_unsealing() -> None:
    """`--hub-key-type ec-p256` on a database: the hub key is EC P-256, sealed and unsealed as such."""
    created = CertificateAuthority.create(NOW, EC_P256)
    unsealed = CertificateAuthority.unseal(created.sealed(b"passphrase"), b"passphrase")
    assert unsealed.hub_key_type == EC_P256
    signature = unsealed.sign(b"payload")
    assert signature.startswith("ECDSA-SHA256;")
    assert verify_detached(parse_signature_header(signature), b"payload") == created.hub_certificate
