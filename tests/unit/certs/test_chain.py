"""Whether a certificate was issued by the exchange CA and is valid at a given moment."""

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from certs.chain import check_issued_by, serial_hex
from certs.errors import ChainError
from tests.crafted_cms import self_signed_ca


@pytest.mark.parametrize("participant", ["rsa_participant", "ec_participant"])
def test_accepts_a_participant_certificate_issued_by_the_ca(authority, participant, request, now):
    """RSA and EC participant certificates chain to the exchange CA."""
    certificate, _ = request.getfixturevalue(participant)
    check_issued_by(certificate, authority.ca_certificate, now)


def test_accepts_the_hub_certificate(authority, now):
    """The hub certificate chains to the exchange CA."""
    check_issued_by(authority.hub_certificate, authority.ca_certificate, now)


def test_refuses_a_certificate_from_a_foreign_ca_with_the_same_name(
    authority, foreign_authority, rsa_key, make_csr, now
):
    """A certificate from another CA is refused even when that CA copies the exchange CA's name."""
    foreign = foreign_authority.issue(make_csr(rsa_key), "MC1", now)
    with pytest.raises(ChainError, match="does not chain to the exchange CA"):
        check_issued_by(foreign, authority.ca_certificate, now)


def test_refuses_a_certificate_naming_another_issuer(authority, rsa_key, now):
    """A self-signed certificate is refused, and the reason names its issuer."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Other CA")])
    stranger = self_signed_ca(name, rsa_key, now - timedelta(days=1), now + timedelta(days=1))
    with pytest.raises(ChainError, match="issued by CN=Other CA, not by the exchange CA"):
        check_issued_by(stranger, authority.ca_certificate, now)


def test_refuses_a_certificate_that_expired_before_now(authority, rsa_key, make_csr, now):
    """A certificate past its notAfter at `now` is refused as expired."""
    certificate = authority.issue(make_csr(rsa_key), "MC1", now - timedelta(days=40), lifetime_days=30)
    with pytest.raises(ChainError, match="expired"):
        check_issued_by(certificate, authority.ca_certificate, now)


def test_refuses_a_certificate_not_yet_valid_at_now(authority, rsa_key, make_csr, now):
    """A certificate whose notBefore is after `now` is refused."""
    certificate = authority.issue(make_csr(rsa_key), "MC1", now + timedelta(days=1))
    with pytest.raises(ChainError, match="not valid before"):
        check_issued_by(certificate, authority.ca_certificate, now)


def test_validity_follows_the_given_clock(authority, rsa_key, make_csr, now):
    """Validity follows the `now` given, not the system clock."""
    certificate = authority.issue(make_csr(rsa_key), "MC1", now, lifetime_days=30)
    check_issued_by(certificate, authority.ca_certificate, now + timedelta(days=20))
    with pytest.raises(ChainError, match="expired"):
        check_issued_by(certificate, authority.ca_certificate, now + timedelta(days=31))


def test_refuses_any_certificate_when_the_ca_itself_is_not_valid_at_now(authority, rsa_participant, now):
    """Before the CA's own notBefore nothing chains, and the reason says so."""
    certificate, _ = rsa_participant
    with pytest.raises(ChainError, match="exchange CA is not valid"):
        check_issued_by(certificate, authority.ca_certificate, now - timedelta(minutes=10))


def test_serial_hex_is_lowercase_hex_without_prefix_or_leading_zeros(rsa_participant):
    """serial_hex writes the serial number as the API does."""
    certificate, _ = rsa_participant
    text = serial_hex(certificate)
    assert int(text, 16) == certificate.serial_number
    assert text == text.lower() and not text.startswith(("0", "0x"))


def test_serial_hex_of_a_small_serial(authority, rsa_key, now):
    """A serial of 255 is written 'ff'."""
    certificate = (
        x509.CertificateBuilder()
        .subject_name(authority.ca_certificate.subject)
        .issuer_name(authority.ca_certificate.subject)
        .public_key(rsa_key.public_key())
        .serial_number(255)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(rsa_key, hashes.SHA256())
    )
    assert serial_hex(certificate) == "ff"
