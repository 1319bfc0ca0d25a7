"""Exact reasons and edge cases of the certificate rules: CSR acceptance, the chain check at its boundaries,
receipts, participant keys and the certificate profiles. The reasons reach participants in problem answers and
on the command line, so they are pinned word for word."""

import pickle
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from certs import profiles
from certs.chain import check_issued_by
from certs.csr import load_and_check_csr
from certs.errors import CertificateError, ChainError, CsrRejectedError
from certs.participant import check_key_matches, new_signing_key
from certs.receipts import Receipt, ReceiptFormatError, parse_receipt, verify_receipt

# rsaEncryption, and the unassigned arc 1.2.840.113549.1.1.127 of the same encoded length.
_RSA_KEY_OID = bytes.fromhex("2a864886f70d010101")
_UNKNOWN_OID = bytes.fromhex("2a864886f70d01017f")


def _csr_refusal(csr_pem: bytes, participant_id: str = "MC1") -> str:
    with pytest.raises(CsrRejectedError) as error:
        load_and_check_csr(csr_pem, participant_id)
    return str(error.value)


def test_csr_refusals_have_their_exact_reasons(rsa_key, make_csr):
    """No CN, two CNs, another participant's CN, a tampered CSR: each refusal is one documented sentence."""
    assert _csr_refusal(make_csr(rsa_key, common_name=None)) == "the CSR subject has no common name (CN)"
    two = x509.Name(
        [x509.NameAttribute(x509.NameOID.COMMON_NAME, "MC1-a"), x509.NameAttribute(x509.NameOID.COMMON_NAME, "MC1-b")]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(two).sign(rsa_key, hashes.SHA256())
    assert (
        _csr_refusal(csr.public_bytes(serialization.Encoding.PEM))
        == "the CSR subject has more than one common name (CN); give exactly one"
    )
    assert _csr_refusal(make_csr(rsa_key, common_name="MC2-primary")) == (
        "the CSR common name 'MC2-primary' must begin with the participant id 'MC1' (e.g. 'MC1-signing')"
    )
    der = x509.load_pem_x509_csr(make_csr(rsa_key)).public_bytes(serialization.Encoding.DER)
    tampered = x509.load_der_x509_csr(der.replace(b"MC1-primary", b"MC1-primarz"))
    assert (
        _csr_refusal(tampered.public_bytes(serialization.Encoding.PEM))
        == "the CSR's self-signature is invalid (was it altered after signing?)"
    )


def test_a_csr_whose_key_type_is_unknown_is_refused_with_a_reason(rsa_key, make_csr):
    """A key type the exchange cannot even load is a refusal that says so, not a crash."""
    der = x509.load_pem_x509_csr(make_csr(rsa_key)).public_bytes(serialization.Encoding.DER)
    assert der.count(_RSA_KEY_OID) == 1
    strange = x509.load_der_x509_csr(der.replace(_RSA_KEY_OID, _UNKNOWN_OID))
    assert _csr_refusal(strange.public_bytes(serialization.Encoding.PEM)).startswith(
        "the CSR signature cannot be checked: "
    )


def test_a_naive_moment_is_read_as_utc(authority, rsa_key, make_csr, now):
    """check_issued_by takes a naive `now` as UTC, both to accept and to explain a refusal."""
    certificate = authority.issue(make_csr(rsa_key), "MC1", now, lifetime_days=30)
    naive = now.replace(tzinfo=None)
    check_issued_by(certificate, authority.ca_certificate, naive)
    with pytest.raises(ChainError, match=r"^the certificate expired at "):
        check_issued_by(certificate, authority.ca_certificate, naive + timedelta(days=31))


def test_a_refusal_for_a_foreign_issuer_keeps_the_verifiers_words(authority, foreign_authority, rsa_key, make_csr, now):
    """When no plainer cause applies, the reason ends with what the verifier said, never 'None'."""
    foreign = foreign_authority.issue(make_csr(rsa_key), "MC1", now)
    with pytest.raises(ChainError) as error:
        check_issued_by(foreign, authority.ca_certificate, now)
    reason = str(error.value)
    assert reason.startswith("the certificate does not chain to the exchange CA: ")
    assert len(reason) > len("the certificate does not chain to the exchange CA: ") + 4
    assert not reason.endswith("None")


def test_the_validity_bounds_are_inclusive_when_explaining_a_refusal(
    authority, foreign_authority, rsa_key, make_csr, now
):
    """At exactly notBefore or notAfter a certificate (and the CA) count as valid, so the reason given at those
    moments is the other fault, not the date."""
    ca = authority.ca_certificate
    foreign = foreign_authority.issue(make_csr(rsa_key), "MC1", now, lifetime_days=30)
    for moment in (foreign.not_valid_before_utc, foreign.not_valid_after_utc):
        with pytest.raises(ChainError, match=r"^the certificate does not chain to the exchange CA: "):
            check_issued_by(foreign, ca, moment)

    later = authority.issue(make_csr(rsa_key), "MC1", now + timedelta(days=1))
    with pytest.raises(ChainError, match=r"^the certificate is not valid before "):
        check_issued_by(later, ca, ca.not_valid_before_utc)
    short = authority.issue(make_csr(rsa_key), "MC1", now, lifetime_days=30)
    with pytest.raises(ChainError, match=r"^the certificate expired at "):
        check_issued_by(short, ca, ca.not_valid_after_utc)


def test_receipt_format_errors_have_their_exact_reasons():
    """A receipt that is not an object, lacks fields, or has a date that is not ISO 8601 is named plainly."""
    with pytest.raises(ReceiptFormatError) as error:
        parse_receipt([])
    assert str(error.value) == "a receipt is a JSON object: the 200 answer of a submission"
    with pytest.raises(ReceiptFormatError) as error:
        parse_receipt({"messageContextId": "x"})
    assert str(error.value) == (
        "the receipt lacks payloadSha256, receivedDateTime, receipt (give the 200 answer of a submission)"
    )


def test_a_receipt_date_that_is_not_iso_8601_is_named(authority):
    with pytest.raises(ReceiptFormatError) as error:
        verify_receipt(Receipt("ctx", "0" * 64, "yesterday", "RSA-SHA256;MA=="), authority.ca_certificate)
    assert str(error.value) == "receivedDateTime 'yesterday' is not ISO 8601"


def test_a_new_signing_key_is_rsa_2048_unless_elliptic_is_asked_for():
    """The default key is the one every exchange tool accepts: RSA 2048."""
    key = new_signing_key()
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048


def test_a_mismatched_key_is_refused_with_its_exact_reason(rsa_participant, ec_key):
    certificate, _ = rsa_participant
    with pytest.raises(CertificateError) as error:
        check_key_matches(ec_key, certificate)
    assert str(error.value) == "the key does not belong to the certificate (their public keys differ)"


def test_a_certificate_error_carries_its_reason_in_args_repr_and_pickles():
    """Logs show repr(error) and other processes rebuild errors from their args: both carry the reason."""
    error = CsrRejectedError("the CSR subject has no common name (CN)")
    assert error.args == ("the CSR subject has no common name (CN)",)
    assert repr(error) == "CsrRejectedError('the CSR subject has no common name (CN)')"
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is CsrRejectedError
    assert copy.reason == error.reason
    assert str(copy) == str(error)


def _extension(certificate: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.Extension[x509.ExtensionType]:
    return certificate.extensions.get_extension_for_class(kind)


def test_the_ca_certificate_allows_no_intermediate_ca_and_marks_its_constraints_critical(rsa_key, now):
    """pathLen 0: the CA issues no intermediate CAs; basicConstraints and keyUsage are critical (RFC 5280)."""
    ca = profiles.build_ca_certificate(rsa_key, "Test CA", now)
    critical = {extension.oid for extension in ca.extensions if extension.critical}
    assert critical == {x509.BasicConstraints.oid, x509.KeyUsage.oid}
    assert _extension(ca, x509.BasicConstraints).value == x509.BasicConstraints(ca=True, path_length=0)


def test_signing_certificates_mark_exactly_their_constraints_and_key_usage_critical(rsa_key, ec_key, now):
    """basicConstraints and keyUsage are critical, the identifiers and extended key usage are not: a relying party
    that does not know an extension may then still accept the certificate."""
    ca = profiles.build_ca_certificate(rsa_key, "Test CA", now)
    certificate = profiles.build_signing_certificate(
        ca_key=rsa_key,
        ca_certificate=ca,
        subject=profiles.hub_subject("MC1-signing"),
        public_key=ec_key.public_key(),
        not_before=now,
        not_after=now + timedelta(days=1),
        usages=profiles.PARTICIPANT_USAGES,
    )
    critical = {extension.oid for extension in certificate.extensions if extension.critical}
    assert critical == {x509.BasicConstraints.oid, x509.KeyUsage.oid}
    assert _extension(certificate, x509.BasicConstraints).value == x509.BasicConstraints(ca=False, path_length=None)
