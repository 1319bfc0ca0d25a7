"""Edges of the CA's revocation list: extension criticality, PEM with leading blank lines, a naive clock, the exact
validity bounds, and the exact reason for a CRL signed by another key."""

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certs.crl import RevocationListError, RevokedEntry, check_not_revoked, load_crl


def test_the_crl_extensions_are_not_critical(authority, now):
    """CRL number and authority key identifier are non-critical (RFC 5280 §5.2.1, §5.2.3), so any relying
    party can read the list."""
    crl = authority.revocation_list([], now, number=1)
    assert {extension.oid: extension.critical for extension in crl.extensions} == {
        x509.CRLNumber.oid: False,
        x509.AuthorityKeyIdentifier.oid: False,
    }


def test_a_pem_crl_after_blank_lines_is_read_as_pem(authority, now):
    """A CRL file that starts with blank lines (as pasted or concatenated) is still PEM."""
    crl = authority.revocation_list([RevokedEntry(5, now)], now, 3)
    assert load_crl(b"\n  \n" + crl.public_bytes(serialization.Encoding.PEM)) == crl


def test_a_naive_moment_is_read_as_utc(authority, rsa_participant, now):
    """check_not_revoked takes a naive `now` as UTC, both to pass and to refuse."""
    certificate, _ = rsa_participant
    naive = now.replace(tzinfo=None)
    listing_it = authority.revocation_list([RevokedEntry(certificate.serial_number, now)], now, 2)
    check_not_revoked(certificate, authority.revocation_list([], now, 1), authority.ca_certificate, naive)
    with pytest.raises(RevocationListError, match="not valid before"):
        check_not_revoked(certificate, listing_it, authority.ca_certificate, naive.replace(year=now.year - 1))


def test_a_crl_is_current_from_its_last_update_to_its_next_update_inclusive(authority, rsa_participant, now):
    """At exactly thisUpdate and exactly nextUpdate the CRL is current."""
    certificate, _ = rsa_participant
    crl = authority.revocation_list([], now, 1)
    next_update = crl.next_update_utc
    assert next_update is not None
    for moment in (crl.last_update_utc, next_update):
        check_not_revoked(certificate, crl, authority.ca_certificate, moment)


def test_a_crl_signed_by_another_key_is_refused_with_its_exact_reason(
    authority, foreign_authority, rsa_participant, now
):
    certificate, _ = rsa_participant
    with pytest.raises(RevocationListError) as error:
        check_not_revoked(certificate, foreign_authority.revocation_list([], now, 1), authority.ca_certificate, now)
    assert str(error.value) == "the CRL was not signed by the exchange CA"
