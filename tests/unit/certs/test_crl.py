"""The CA's revocation list: signed by the CA, listing exactly the revoked certificates, and checked on reading."""

from datetime import datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from certs import profiles
from certs.authority import CertificateAuthority
from certs.crl import (
    CRL_LIFETIME,
    RevocationListError,
    RevokedCertificateError,
    RevokedEntry,
    build_crl,
    check_not_revoked,
    load_crl,
)


def test_the_crl_is_issued_and_signed_by_the_exchange_ca(authority: CertificateAuthority, now: datetime) -> None:
    crl = authority.revocation_list([], now, number=7)
    ca = authority.ca_certificate
    public_key = ca.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert crl.issuer == ca.subject
    assert crl.is_signature_valid(public_key)
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 7
    assert crl.last_update_utc == now.replace(microsecond=0)
    assert crl.next_update_utc == (now + CRL_LIFETIME).replace(microsecond=0)


def test_the_crl_lists_every_revoked_serial_with_its_revocation_time(
    authority: CertificateAuthority, now: datetime
) -> None:
    revoked = [RevokedEntry(0x2A, now - timedelta(hours=1)), RevokedEntry(0x1F00, now - timedelta(days=3))]
    crl = authority.revocation_list(revoked, now, number=1)
    listed = {entry.serial_number: entry.revocation_date_utc for entry in crl}
    assert listed == {e.serial_number: e.revoked_at.replace(microsecond=0) for e in revoked}


def test_a_listed_certificate_is_refused_and_an_unlisted_one_passes(
    authority: CertificateAuthority, rsa_participant: tuple[x509.Certificate, rsa.RSAPrivateKey], now: datetime
) -> None:
    certificate, _ = rsa_participant
    ca = authority.ca_certificate
    check_not_revoked(certificate, authority.revocation_list([RevokedEntry(1, now)], now, 1), ca, now)
    listing_it = authority.revocation_list([RevokedEntry(certificate.serial_number, now)], now, 2)
    with pytest.raises(RevokedCertificateError, match="was revoked"):
        check_not_revoked(certificate, listing_it, ca, now)


def test_a_crl_of_another_ca_is_not_trusted(
    authority: CertificateAuthority, rsa_participant: tuple[x509.Certificate, rsa.RSAPrivateKey], now: datetime
) -> None:
    certificate, _ = rsa_participant
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_ca = profiles.build_ca_certificate(other_key, "Some Other CA", now)
    crl = build_crl(other_key, other_ca, [], now, 1)
    with pytest.raises(RevocationListError, match="issued by CN=Some Other CA, not by the exchange CA"):
        check_not_revoked(certificate, crl, authority.ca_certificate, now)


def test_a_crl_whose_signature_does_not_verify_is_not_trusted(
    authority: CertificateAuthority,
    foreign_authority: CertificateAuthority,
    rsa_participant: tuple[x509.Certificate, rsa.RSAPrivateKey],
    now: datetime,
) -> None:
    """A CRL naming the exchange CA as issuer but signed by another key proves nothing."""
    certificate, _ = rsa_participant
    foreign = foreign_authority.revocation_list([], now, 1)
    # Same issuer name as the exchange CA (both CAs share their CN), different key.
    assert foreign.issuer == authority.ca_certificate.subject
    with pytest.raises(RevocationListError, match="not signed by the exchange CA"):
        check_not_revoked(certificate, foreign, authority.ca_certificate, now)


def test_a_lapsed_crl_is_not_trusted(
    authority: CertificateAuthority, rsa_participant: tuple[x509.Certificate, rsa.RSAPrivateKey], now: datetime
) -> None:
    certificate, _ = rsa_participant
    crl = authority.revocation_list([], now, 1)
    with pytest.raises(RevocationListError, match="lapsed"):
        check_not_revoked(certificate, crl, authority.ca_certificate, now + CRL_LIFETIME + timedelta(minutes=1))
    with pytest.raises(RevocationListError, match="not valid before"):
        check_not_revoked(certificate, crl, authority.ca_certificate, now - timedelta(minutes=1))


def test_a_crl_reads_from_pem_and_from_der_and_garbage_is_refused(
    authority: CertificateAuthority, now: datetime
) -> None:
    crl = authority.revocation_list([RevokedEntry(5, now)], now, 3)
    for encoding in (serialization.Encoding.PEM, serialization.Encoding.DER):
        assert load_crl(crl.public_bytes(encoding)) == crl
    with pytest.raises(RevocationListError, match="not a CRL"):
        load_crl(b"not a crl")
