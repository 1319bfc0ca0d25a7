"""The exact refusals of signature parsing and verification: the reasons reach participants in 403 problem answers,
so each one is pinned word for word, together with the edge cases that choose between them."""

import base64

import pytest
from asn1crypto import cms, core

from certs.errors import SignatureFormatError, SignatureInvalidError
from certs.signature import parse_signature_header, read_signature, sign_detached, verify_detached
from tests.crafted_cms import good, resign

BODY = b'{"header": {"messageId": "m-1"}}\n'


def _in_this_order(*choices: cms.CertificateChoices) -> cms.CertificateSet:
    """A certificates SET in the order given: asn1crypto sorts a SET it encodes, as DER wants, but a BER
    signature may list its certificates in any order, and the verifier must read them as they come."""
    elements = b"".join(choice.dump() for choice in choices)
    length = len(elements).to_bytes((len(elements).bit_length() + 7) // 8, "big")
    return cms.CertificateSet.load(b"\x31" + bytes([0x80 | len(length)]) + length + elements)


def _reason(error: pytest.ExceptionInfo[Exception]) -> str:
    return str(error.value)


def refusal(error_type: type[Exception], info: cms.ContentInfo) -> str:
    """Why `verify_detached` refuses `info` as the signature of BODY, once the refusal is of `error_type`."""
    with pytest.raises(error_type) as error:
        verify_detached(info.dump(force=True), BODY)
    return _reason(error)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (
            "RSA-SHA256",
            "x-signature must be 'RSA-SHA256;' (RSA signer) or 'ECDSA-SHA256;' (EC P-256 signer), "
            "then base64 of a DER CMS SignedData",
        ),
        # Only the first ';' separates the scheme: the rest is the (here invalid) base64.
        ("RSA-SHA256;MA==;MA==", "x-signature is not valid base64: "),
        ("RSA-SHA256;MA==*", "x-signature is not valid base64: "),
        ("RSA-SHA256;", "x-signature carries no CMS data"),
    ],
    ids=["no-separator", "two-separators", "stray-character", "empty"],
)
def test_a_malformed_header_is_refused_with_its_exact_reason(value, reason):
    """Each malformed header value gets the reason the API documents (after a colon, the decoder's own words);
    stray characters are refused, not skipped."""
    with pytest.raises(SignatureFormatError) as error:
        parse_signature_header(value)
    if reason.endswith(": "):
        assert _reason(error).startswith(reason)
    else:
        assert _reason(error) == reason


def test_a_signature_file_with_non_ascii_bytes_is_a_format_error():
    """A header-form file with a byte outside ASCII is refused as bad base64, not with a decoding crash."""
    with pytest.raises(SignatureFormatError) as error:
        read_signature(b"RSA-SHA256;MA\xff==")
    assert _reason(error).startswith("x-signature is not valid base64")


def test_a_pem_signature_with_a_stray_character_is_refused():
    """PEM bodies are decoded strictly: a character outside base64 is an error, not skipped."""
    with pytest.raises(SignatureFormatError) as error:
        read_signature(b"-----BEGIN CMS-----\nMA==*\n-----END CMS-----\n")
    assert _reason(error).startswith("the PEM signature is not valid base64: ")


def test_a_signature_file_of_another_form_names_the_three_accepted_forms():
    """Text that is neither header form, PEM nor DER is refused naming what is accepted."""
    with pytest.raises(SignatureFormatError) as error:
        read_signature(b"hello")
    assert _reason(error) == "give 'RSA-SHA256;<base64>' or 'ECDSA-SHA256;<base64>', a PEM CMS or DER CMS signature"


def test_trailing_bytes_after_the_signature_are_refused(rsa_participant):
    """The DER must be exactly one ContentInfo: bytes smuggled after it are not ignored."""
    certificate, key = rsa_participant
    der = parse_signature_header(sign_detached(BODY, certificate, key))
    assert verify_detached(der, BODY) == certificate
    with pytest.raises(SignatureFormatError, match="not a parseable DER CMS SignedData"):
        verify_detached(der + b"\x00\x00", BODY)


def test_a_cms_of_another_content_type_is_refused_naming_it():
    """An authenticated-data ContentInfo is named as such, not reported as unparseable."""
    der = bytes.fromhex("3011060b2a864886f70d0109100102a0020500")
    with pytest.raises(SignatureFormatError) as error:
        verify_detached(der, BODY)
    assert _reason(error) == "CMS content type is authenticated_data, not signed_data"


def test_an_attached_signature_is_refused_with_its_exact_reason(rsa_participant):
    """A CMS that carries its content is not the detached signature the API asks for."""
    certificate, key = rsa_participant
    info = good(BODY, certificate, key)
    info["content"]["encap_content_info"]["content"] = core.OctetString(BODY)
    assert (
        refusal(SignatureFormatError, info) == "the CMS signature must be detached; this one encapsulates its content"
    )


def test_a_non_certificate_entry_before_the_signer_certificate_is_skipped(rsa_participant):
    """Other certificate formats in the certificates set are passed over, not the end of the search."""
    certificate, key = rsa_participant
    info = good(BODY, certificate, key)
    other = cms.CertificateChoices(
        name="other",
        value=cms.OtherCertificateFormat({"other_cert_format": "1.2.3.4", "other_cert": core.Null()}),
    )
    info["content"]["certificates"] = _in_this_order(other, *info["content"]["certificates"])
    der = info.dump()
    assert [c.name for c in cms.ContentInfo.load(der)["content"]["certificates"]] == ["other", "certificate"]
    assert verify_detached(der, BODY) == certificate


def test_the_signer_is_the_certificate_matching_both_issuer_and_serial(authority, rsa_participant):
    """Another certificate of the same CA embedded first (same issuer, other serial) is not taken as the signer."""
    certificate, key = rsa_participant
    info = good(BODY, certificate, key)
    hub = good(BODY, authority.hub_certificate, key)["content"]["certificates"][0]
    info["content"]["certificates"] = _in_this_order(hub, *info["content"]["certificates"])
    der = info.dump()
    assert cms.ContentInfo.load(der)["content"]["certificates"][0].chosen.serial_number == hub.chosen.serial_number
    assert verify_detached(der, BODY) == certificate


def test_a_missing_signer_certificate_is_refused_with_its_exact_reason(rsa_participant):
    certificate, key = rsa_participant
    info = good(BODY, certificate, key)
    info["content"]["certificates"] = cms.CertificateSet([])
    assert refusal(SignatureInvalidError, info) == "the signer's certificate is not embedded in the CMS signature"


def test_signed_attribute_refusals_have_their_exact_reasons(rsa_participant):
    """Missing attributes, a different content type and a wrong digest each have their own sentence."""
    certificate, key = rsa_participant
    der = parse_signature_header(sign_detached(BODY, certificate, key))
    with pytest.raises(SignatureInvalidError) as error:
        verify_detached(der, BODY + b" ")
    assert _reason(error) == "the signed message digest does not match the SHA-256 of the body"

    info = good(BODY, certificate, key)
    signer_info = info["content"]["signer_infos"][0]
    kept = [a for a in signer_info["signed_attrs"] if a["type"].native != "message_digest"]
    signer_info["signed_attrs"] = cms.CMSAttributes(kept)
    resign(signer_info, key)
    assert refusal(SignatureInvalidError, info) == "signed attributes must include content-type and message-digest"

    info = good(BODY, certificate, key)
    signer_info = info["content"]["signer_infos"][0]
    changed = [
        cms.CMSAttribute({"type": "content_type", "values": ["enveloped_data"]})
        if a["type"].native == "content_type"
        else a
        for a in signer_info["signed_attrs"]
    ]
    signer_info["signed_attrs"] = cms.CMSAttributes(changed)
    resign(signer_info, key)
    assert (
        refusal(SignatureInvalidError, info) == "the signed content-type attribute does not match the encapsulated type"
    )


def test_a_signature_that_does_not_verify_is_refused_with_its_exact_reason(rsa_participant):
    """Signed attributes intact but the signature value changed: the math fails, and says so."""
    certificate, key = rsa_participant
    info = good(BODY, certificate, key)
    signer_info = info["content"]["signer_infos"][0]
    signature = bytearray(signer_info["signature"].native)
    signature[-1] ^= 1
    signer_info["signature"] = bytes(signature)
    assert refusal(SignatureInvalidError, info) == "the signature does not verify with the signer certificate key"


def test_an_ec_signer_labelled_as_rsa_is_refused_naming_algorithm_and_key(ec_participant):
    """The algorithm the signer info names must fit the certificate's key: an EC key is never tried as RSA."""
    certificate, key = ec_participant
    info = good(BODY, certificate, key)
    info["content"]["signer_infos"][0]["signature_algorithm"] = {"algorithm": "sha256_rsa"}
    assert refusal(SignatureInvalidError, info) == (
        "signature algorithm sha256_rsa with a ECPublicKey signer is not accepted; "
        "use RSA PKCS#1 v1.5 or ECDSA with SHA-256"
    )


def test_the_base64_of_a_header_reads_back_exactly():
    """A header value decodes to exactly the DER it carries; a space anywhere in it is refused."""
    der = b"\x30\x03\x02\x01\x01"
    assert parse_signature_header("RSA-SHA256;" + base64.b64encode(der).decode()) == der
    for spaced in (" RSA-SHA256;", "RSA-SHA256 ;", "RSA-SHA256; "):
        with pytest.raises(SignatureFormatError):
            parse_signature_header(spaced + base64.b64encode(der).decode())
