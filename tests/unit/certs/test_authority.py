"""The exchange CA: creating and reloading its files, issuing participant certificates, hub signatures."""

import stat
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certs.authority import CertificateAuthority
from certs.errors import CsrRejectedError
from certs.signature import parse_signature_header, verify_detached

AUTHORITY_FILES = ["ca.key", "ca.pem", "hub.key", "hub.pem"]


def _cn(certificate: x509.Certificate) -> str:
    return str(certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_load_or_create_returns_the_same_certificates_on_a_second_call(authority, authority_dir, now):
    """A second start loads the CA and hub it created the first time instead of making new ones."""
    again = CertificateAuthority.load_or_create(authority_dir, now + timedelta(days=1))
    assert again.ca_certificate == authority.ca_certificate
    assert again.hub_certificate == authority.hub_certificate
    assert again.ca_pem() == authority.ca_pem()
    assert again.hub_pem() == authority.hub_pem()


def test_private_keys_are_readable_by_the_owner_only(authority, authority_dir):
    """ca.key and hub.key are written with mode 0600 and no temporary files are left behind."""
    assert sorted(path.name for path in authority_dir.iterdir()) == sorted(AUTHORITY_FILES)
    for name in ["ca.key", "hub.key"]:
        assert stat.S_IMODE((authority_dir / name).stat().st_mode) == 0o600


def test_a_partly_created_directory_is_completed_keeping_the_ca(authority, tmp_path, now):
    """After a crash that lost hub.pem, the next start keeps the CA and issues a new hub certificate."""
    first = CertificateAuthority.load_or_create(tmp_path, now)
    (tmp_path / "hub.pem").unlink()
    second = CertificateAuthority.load_or_create(tmp_path, now)
    assert second.ca_certificate == first.ca_certificate
    assert second.hub_certificate != first.hub_certificate
    second.hub_certificate.verify_directly_issued_by(first.ca_certificate)


def test_a_ca_key_without_its_certificate_is_replaced(tmp_path, now):
    """A CA key whose certificate was never written is regenerated rather than trusted."""
    (tmp_path / "ca.key").write_bytes(b"half-written")
    authority = CertificateAuthority.load_or_create(tmp_path, now)
    authority.hub_certificate.verify_directly_issued_by(authority.ca_certificate)


def test_the_ca_certificate_is_a_20_year_root_that_signs_certificates(authority, now):
    """The CA is self-signed, CA:TRUE, may sign certificates and CRLs, and lasts 20 years."""
    ca = authority.ca_certificate
    assert _cn(ca) == "IDX Exchange CA"
    ca.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    assert ca.public_key().key_size == 3072
    assert ca.not_valid_after_utc - now > timedelta(days=20 * 365)


def test_the_hub_certificate_is_issued_by_the_ca_for_10_years(authority, now):
    """The hub certificate chains to the CA, may sign with non-repudiation, and lasts 10 years."""
    hub = authority.hub_certificate
    assert _cn(hub) == "IDX Exchange Hub"
    hub.verify_directly_issued_by(authority.ca_certificate)
    usage = hub.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment
    assert timedelta(days=10 * 365) < hub.not_valid_after_utc - now < timedelta(days=11 * 365)


def test_issue_copies_the_csr_subject_and_dates_the_certificate_from_now(authority, rsa_key, make_csr, now):
    """The certificate has the CSR's subject and key, starts 5 minutes before now and lasts 3 years."""
    certificate = authority.issue(make_csr(rsa_key), "MC1", now)
    assert _cn(certificate) == "MC1-primary"
    assert certificate.issuer == authority.ca_certificate.subject
    public_der = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert public_der == rsa_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert certificate.not_valid_before_utc == (now - timedelta(minutes=5)).replace(microsecond=0)
    assert certificate.not_valid_after_utc == (now + timedelta(days=1095)).replace(microsecond=0)
    certificate.verify_directly_issued_by(authority.ca_certificate)


def test_issued_certificates_are_signing_end_entities(rsa_participant):
    """Participant certificates are CA:FALSE, sign with non-repudiation, and carry TLS and S/MIME usages."""
    certificate, _ = rsa_participant
    assert not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    purposes = set(certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert {
        ExtendedKeyUsageOID.CLIENT_AUTH,
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.EMAIL_PROTECTION,
    } <= purposes
    certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)


def test_issue_honours_a_custom_lifetime(authority, ec_key, make_csr, now):
    """lifetime_days sets notAfter."""
    certificate = authority.issue(make_csr(ec_key), "MC1", now, lifetime_days=30)
    assert certificate.not_valid_after_utc == (now + timedelta(days=30)).replace(microsecond=0)


def test_issued_serial_numbers_are_positive_and_distinct(authority, rsa_key, make_csr, now):
    """Two issues of the same CSR get different, positive serial numbers."""
    csr = make_csr(rsa_key)
    serials = {authority.issue(csr, "MC1", now).serial_number for _ in range(2)}
    assert len(serials) == 2
    assert all(serial > 0 for serial in serials)


def test_issue_refuses_a_csr_for_another_participant(authority, rsa_key, make_csr, now):
    """issue applies the CSR rules before signing anything."""
    with pytest.raises(CsrRejectedError):
        authority.issue(make_csr(rsa_key, common_name="MC2-primary"), "MC1", now)


def test_hub_signatures_verify_as_made_by_the_hub_certificate(authority):
    """sign() gives the header form of a detached CMS that verifies over the data, naming the hub."""
    header = authority.sign(b"ctx|abc|2026-01-01T00:00:00Z")
    assert header.startswith("RSA-SHA256;")
    signer = verify_detached(parse_signature_header(header), b"ctx|abc|2026-01-01T00:00:00Z")
    assert signer == authority.hub_certificate
