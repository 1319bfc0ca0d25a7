"""Detached CMS signatures in the x-signature header form: making, parsing and verifying them."""

import base64

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from certs.chain import check_issued_by
from certs.errors import ChainError, SignatureFormatError, SignatureInvalidError
from certs.signature import (
    EC_SCHEME,
    RSA_SCHEME,
    format_signature,
    parse_signature_header,
    read_signature,
    sign_detached,
    verify_detached,
    verify_signature_file,
    verify_signature_header,
)
from tests.crafted_cms import by_key_identifier, crafted

BODY = b'{"header": {"messageId": "m-1"},\n "data": [1, 2, 3]}\n'
DETACHED = [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]


def _cms(certificate, key, options, content=BODY, algorithm=None):
    builder = pkcs7.PKCS7SignatureBuilder().set_data(content)
    builder = builder.add_signer(certificate, key, algorithm or hashes.SHA256())
    return builder.sign(serialization.Encoding.DER, options)


@pytest.mark.parametrize("participant", ["rsa_participant", "ec_participant"])
def test_a_detached_signature_verifies_and_names_its_signer(participant, request):
    """sign_detached then verify_detached round-trips for RSA and EC keys, giving back the signer."""
    certificate, key = request.getfixturevalue(participant)
    header = sign_detached(BODY, certificate, key)
    assert verify_detached(parse_signature_header(header), BODY) == certificate


def test_the_signature_covers_the_exact_bytes(rsa_participant):
    """Line endings are not canonicalised: the body is signed byte for byte."""
    certificate, key = rsa_participant
    der = parse_signature_header(sign_detached(BODY, certificate, key))
    with pytest.raises(SignatureInvalidError, match="message digest"):
        verify_detached(der, BODY.replace(b"\n", b"\r\n"))


def test_tampered_content_is_refused(rsa_participant):
    """Changing one byte of the body fails the message digest check."""
    certificate, key = rsa_participant
    der = parse_signature_header(sign_detached(BODY, certificate, key))
    with pytest.raises(SignatureInvalidError, match="message digest"):
        verify_detached(der, BODY.replace(b"m-1", b"m-2"))


def test_a_signature_by_one_key_embedding_another_certificate_is_refused(rsa_participant, ec_participant):
    """The signature must verify with the embedded signer certificate's key, not just carry a certificate."""
    certificate, _ = ec_participant
    _, other_key = rsa_participant
    der = _cms(certificate, other_key, DETACHED)
    with pytest.raises(SignatureInvalidError):
        verify_detached(der, BODY)


def test_a_signature_with_the_signer_certificate_swapped_is_refused(authority, rsa_participant):
    """Replacing the embedded certificate by another one with the same issuer and serial fails the math."""
    certificate, key = rsa_participant
    info = cms.ContentInfo.load(_cms(certificate, key, DETACHED))
    impostor = cms.ContentInfo.load(_cms(authority.hub_certificate, key, DETACHED))
    info["content"]["certificates"] = impostor["content"]["certificates"]
    info["content"]["signer_infos"][0]["sid"] = impostor["content"]["signer_infos"][0]["sid"]
    with pytest.raises(SignatureInvalidError, match="does not verify"):
        verify_detached(info.dump(force=True), BODY)


def test_a_signature_without_the_signer_certificate_is_refused(rsa_participant):
    """The signer certificate must be embedded."""
    certificate, key = rsa_participant
    der = _cms(certificate, key, [*DETACHED, pkcs7.PKCS7Options.NoCerts])
    with pytest.raises(SignatureInvalidError, match="not embedded"):
        verify_detached(der, BODY)


def test_a_signature_without_signed_attributes_is_verified_over_the_content(rsa_participant):
    """Without signed attributes the signature covers the content itself."""
    certificate, key = rsa_participant
    der = _cms(certificate, key, [*DETACHED, pkcs7.PKCS7Options.NoAttributes])
    assert verify_detached(der, BODY) == certificate
    with pytest.raises(SignatureInvalidError, match="does not verify"):
        verify_detached(der, BODY + b" ")


def test_an_attached_signature_is_refused(rsa_participant):
    """A CMS that encapsulates its content is not a detached signature."""
    certificate, key = rsa_participant
    der = _cms(certificate, key, [pkcs7.PKCS7Options.Binary])
    with pytest.raises(SignatureFormatError, match="detached"):
        verify_detached(der, BODY)


def test_a_digest_other_than_sha256_is_refused_by_name(rsa_participant):
    """SHA-512 signatures are refused, naming the algorithm."""
    certificate, key = rsa_participant
    der = _cms(certificate, key, DETACHED, algorithm=hashes.SHA512())
    with pytest.raises(SignatureInvalidError, match="sha512"):
        verify_detached(der, BODY)


@pytest.mark.parametrize(
    ("craft", "error", "reason"),
    [
        ("zero-signers", SignatureInvalidError, "exactly one signer is required, found 0"),
        ("two-signers", SignatureInvalidError, "exactly one signer is required, found 2"),
        ("content-type-missing", SignatureInvalidError, "must include content-type and message-digest"),
        ("content-type-different", SignatureInvalidError, "content-type attribute does not match"),
        ("content-type-without-value", SignatureFormatError, "not a parseable DER CMS SignedData"),
        ("message-digest-missing", SignatureInvalidError, "must include content-type and message-digest"),
        ("damaged-certificate", SignatureInvalidError, "public key cannot be used"),
        ("invalid-version-certificate", SignatureInvalidError, "certificate cannot be read: 7 is not a valid X509"),
    ],
)
@pytest.mark.parametrize("participant", ["rsa_participant", "ec_participant"])
def test_a_crafted_signature_is_refused_naming_what_is_wrong(participant, craft, error, reason, request):
    """Each craft changes one rule and, where it touches the signed attributes, signs them again: the rule it
    breaks is the only thing wrong, and the refusal names it (never an exception that would be a 500)."""
    certificate, key = request.getfixturevalue(participant)
    der = crafted(craft, BODY, certificate, key)
    with pytest.raises(error, match=reason):
        verify_detached(der, BODY)


@pytest.mark.parametrize("participant", ["rsa_participant", "ec_participant"])
def test_a_signer_identified_by_subject_key_identifier_verifies(participant, request):
    """A SignerIdentifier may name the certificate by subjectKeyIdentifier instead of issuer and serial."""
    certificate, key = request.getfixturevalue(participant)
    assert verify_detached(by_key_identifier(BODY, certificate, key), BODY) == certificate


def test_a_subject_key_identifier_that_names_no_embedded_certificate_is_refused(rsa_participant, ec_participant):
    """The sid names the EC certificate's key but only the RSA certificate is embedded."""
    certificate, key = rsa_participant
    info = cms.ContentInfo.load(by_key_identifier(BODY, certificate, key))
    other = cms.ContentInfo.load(by_key_identifier(BODY, *ec_participant))
    info["content"]["signer_infos"][0]["sid"] = other["content"]["signer_infos"][0]["sid"]
    with pytest.raises(SignatureInvalidError, match="not embedded"):
        verify_detached(info.dump(force=True), BODY)


def test_two_signers_are_refused(rsa_participant, ec_participant):
    """Exactly one signer is allowed."""
    builder = pkcs7.PKCS7SignatureBuilder().set_data(BODY)
    for certificate, key in (rsa_participant, ec_participant):
        builder = builder.add_signer(certificate, key, hashes.SHA256())
    with pytest.raises(SignatureInvalidError, match="exactly one signer"):
        verify_detached(builder.sign(serialization.Encoding.DER, DETACHED), BODY)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "RSA-SHA256",
        "RSA-SHA256;",
        "RSA-SHA1;AAAA",
        "rsa-sha256;AAAA",
        "RSA-SHA256;not base64!",
        "RSA-SHA256 ;AAAA",
        "RSA-SHA256; AAAA",
        " ECDSA-SHA256;AAAA",
        "ECDSA-SHA256;AAAA ",
        "AAAA",
    ],
    ids=[
        "empty",
        "no-separator",
        "no-data",
        "other-scheme",
        "lower-case",
        "bad-base64",
        "space-before-separator",
        "space-after-separator",
        "leading-space",
        "trailing-space",
        "bare-base64",
    ],
)
def test_malformed_header_values_are_refused(value):
    """Only `RSA-SHA256;` or `ECDSA-SHA256;` followed by base64, exactly, is a signature header."""
    with pytest.raises(SignatureFormatError):
        parse_signature_header(value)


@pytest.mark.parametrize(
    "der",
    [b"hello", b"\x30\x03\x02\x01\x01", bytes.fromhex("3011060b2a864886f70d0109100102a0020500")],
    ids=["text", "other-der", "not-signed-data"],
)
def test_der_that_is_not_cms_signed_data_is_refused(der):
    """Bytes that decode from base64 but are not CMS SignedData raise a format error."""
    with pytest.raises(SignatureFormatError):
        verify_detached(parse_signature_header(format_signature(der)), BODY)


CHANGES = st.lists(
    st.tuples(st.integers(-4_000, 4_000), st.sampled_from(["flip", "cut", "insert", "truncate"]), st.integers(1, 255)),
    min_size=1,
    max_size=4,
)


def _damage(der: bytes, changes: list[tuple[int, str, int]]) -> bytes:
    damaged = bytearray(der)
    for position, change, value in changes:
        at = position % len(damaged)
        if change == "flip":
            damaged[at] ^= value
        elif change == "cut":
            del damaged[at]
        elif change == "insert":
            damaged.insert(at, value)
        else:
            del damaged[at:]
        if not damaged:
            damaged.append(0x30)
    return bytes(damaged)


def _signed_parts(der: bytes) -> tuple[bytes, bytes]:
    """The signature value and the signed attributes of a CMS's only signer, as bytes."""
    signer_info = cms.ContentInfo.load(der)["content"]["signer_infos"][0]
    return signer_info["signature"].native, signer_info["signed_attrs"].dump()


@settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(changes=CHANGES)
@example(changes=[(-1, "flip", 1)])  # the last byte: inside the signature value
@example(changes=[(3_999, "flip", 0x80)])  # position modulo the length: somewhere in the middle
@example(changes=[(0, "flip", 0x01)])  # the outer SEQUENCE tag
@example(changes=[(200, "truncate", 1)])
@example(changes=[(40, "cut", 1)])
@example(changes=[(40, "insert", 0x30)])
def test_a_damaged_signature_is_refused_with_a_signature_error(rsa_participant, authority, now, changes):
    """Whatever bytes of a good signature are changed, cut or added, verification raises one of the two
    signature errors (the API's 403), never another exception (a 500). When it still succeeds, nothing that
    matters was damaged: the signer's signature value and signed attributes are the original ones, or the
    embedded certificate was altered and no longer chains to the CA."""
    certificate, key = rsa_participant
    original = parse_signature_header(sign_detached(BODY, certificate, key))
    der = _damage(original, changes)
    try:
        signer = verify_detached(der, BODY)
    except (SignatureFormatError, SignatureInvalidError) as error:
        assert str(error)
        return
    if signer != certificate:
        with pytest.raises(ChainError):
            check_issued_by(signer, authority.ca_certificate, now)
    else:
        assert _signed_parts(der) == _signed_parts(original)
    with pytest.raises(SignatureInvalidError, match="message digest"):
        verify_detached(der, BODY + b" ")


def test_format_and_parse_are_inverse():
    """format_signature writes the scheme and base64 that parse_signature_header reads back."""
    header = format_signature(b"\x30\x00")
    assert header == "RSA-SHA256;" + base64.b64encode(b"\x30\x00").decode()
    assert parse_signature_header(header) == b"\x30\x00"


def test_read_signature_accepts_the_header_form_pem_and_der(authority):
    """A signature file may hold `RSA-SHA256;<base64>`, PEM CMS or raw DER; all give the same DER."""
    header = authority.sign(b"data")
    der = parse_signature_header(header)
    body = base64.encodebytes(der)
    pem = b"-----BEGIN CMS-----\n" + body + b"-----END CMS-----\n"
    assert read_signature(header.encode() + b"\n") == der
    assert read_signature(pem) == der
    assert read_signature(der) == der


def test_read_signature_refuses_anything_else():
    """Text that is none of the three forms is a SignatureFormatError."""
    with pytest.raises(SignatureFormatError):
        read_signature(b"hello")


def test_each_key_type_signs_with_its_own_prefix_and_verifies_only_under_it(rsa_participant, ec_participant):
    """RSA signs `RSA-SHA256;`, EC P-256 `ECDSA-SHA256;`; the other prefix on the same CMS is refused."""
    for (certificate, key), own, other in (
        (rsa_participant, RSA_SCHEME, EC_SCHEME),
        (ec_participant, EC_SCHEME, RSA_SCHEME),
    ):
        header = sign_detached(BODY, certificate, key)
        assert header.startswith(f"{own};")
        assert verify_signature_header(header, BODY) == certificate
        with pytest.raises(SignatureInvalidError, match="prefix"):
            verify_signature_header(other + header.removeprefix(own), BODY)


def test_a_signature_file_in_header_form_must_carry_its_signers_prefix(rsa_participant, ec_participant):
    """`idx certs verify` reads PEM, DER or the header form; the header form's prefix must match the key."""
    certificate, key = ec_participant
    header = sign_detached(BODY, certificate, key)
    der = parse_signature_header(header)
    for form in (header.encode() + b"\n", der):
        assert verify_signature_file(form, BODY) == certificate
    with pytest.raises(SignatureInvalidError, match="prefix"):
        verify_signature_file((RSA_SCHEME + header.removeprefix(EC_SCHEME)).encode(), BODY)
