"""The participant's side: making a key and CSR the exchange accepts, reading keys, matching key and certificate."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from certs import participant
from certs.csr import load_and_check_csr
from certs.errors import CertificateError


@pytest.mark.parametrize("elliptic", [False, True], ids=["rsa", "ec"])
def test_a_new_key_and_its_csr_pass_the_exchanges_rules(elliptic):
    """RSA-2048 or EC P-256, CN as given: load_and_check_csr accepts it."""
    key = participant.new_signing_key(elliptic=elliptic)
    assert isinstance(key, ec.EllipticCurvePrivateKey if elliptic else rsa.RSAPrivateKey)
    load_and_check_csr(participant.build_csr(key, "MC1-signing"), "MC1")


def test_a_written_key_reads_back_as_the_same_key():
    """private_key_pem and participant.load_signing_key round-trip."""
    key = participant.new_signing_key(elliptic=True)
    assert participant.load_signing_key(participant.private_key_pem(key)).private_numbers() == key.private_numbers()


@pytest.mark.parametrize(
    "pem",
    [b"not a key", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"],
    ids=["text", "broken-pem"],
)
def test_anything_but_a_pem_key_is_a_certificate_error(pem):
    """Unreadable key files are refused with a reason."""
    with pytest.raises(CertificateError, match="not an unencrypted PEM private key"):
        participant.load_signing_key(pem)


def test_an_ed25519_key_cannot_sign_for_the_exchange():
    """Only RSA and EC keys are signing keys."""
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(CertificateError, match="Ed25519"):
        participant.load_signing_key(pem)


def test_key_and_certificate_must_match(rsa_participant, rsa_key, ec_key):
    """check_key_matches passes for the certified key and refuses another one."""
    certificate, _ = rsa_participant
    participant.check_key_matches(rsa_key, certificate)
    with pytest.raises(CertificateError, match="does not belong"):
        participant.check_key_matches(ec_key, certificate)


def test_a_certificate_file_must_be_pem(authority):
    """load_certificate reads PEM and refuses anything else."""
    assert participant.load_certificate(authority.ca_pem().encode()) == authority.ca_certificate
    with pytest.raises(CertificateError, match="not a PEM certificate"):
        participant.load_certificate(b"junk")
