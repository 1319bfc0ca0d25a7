"""Detached CMS signatures in the exchange's `x-signature` header form: `RSA-SHA256;<base64 of DER CMS>` for an
RSA signer, `ECDSA-SHA256;<base64 of DER CMS>` for an EC P-256 signer, exactly so.

cryptography can make CMS signatures but not verify them, so verification parses SignedData with asn1crypto
and checks the digest and the signature math with cryptography.
"""

import base64
import binascii
import functools
import hashlib
import hmac
from typing import NamedTuple

from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7

from certs.errors import CertificateError, SignatureFormatError, SignatureInvalidError

RSA_SCHEME = "RSA-SHA256"
EC_SCHEME = "ECDSA-SHA256"
SCHEMES = (RSA_SCHEME, EC_SCHEME)
SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_RSA_ALGORITHMS = {"rsassa_pkcs1v15", "sha256_rsa"}
_ECDSA_ALGORITHMS = {"sha256_ecdsa", "ecdsa"}


def scheme_of(key: SigningKey | rsa.RSAPublicKey | ec.EllipticCurvePublicKey | object) -> str:
    """The header prefix a signer with `key` (private or public) writes; SignatureInvalidError for a key that has
    none: only RSA and EC P-256 keys sign for the exchange."""
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return RSA_SCHEME
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)) and isinstance(key.curve, ec.SECP256R1):
        return EC_SCHEME
    raise SignatureInvalidError(f"a {type(key).__name__} signer is not accepted; use RSA or EC P-256")


def format_signature(der: bytes, scheme: str = RSA_SCHEME) -> str:
    """Render DER CMS as an `x-signature` header value with the prefix of the signer's key type."""
    return f"{scheme};{base64.b64encode(der).decode('ascii')}"


def split_signature_header(value: str) -> tuple[str, bytes]:
    """The prefix and the DER CMS of an `x-signature` header value, or SignatureFormatError.

    Exactly a prefix, `;` and base64: no spaces, no other case, no bare base64, so that every party writes and
    reads one form.
    """
    scheme, separator, encoded = value.partition(";")
    if not separator or scheme not in SCHEMES:
        raise SignatureFormatError(
            f"x-signature must be '{RSA_SCHEME};' (RSA signer) or '{EC_SCHEME};' (EC P-256 signer), "
            "then base64 of a DER CMS SignedData"
        )
    try:
        # validate=True refuses whitespace and anything else outside the base64 alphabet.
        der = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureFormatError(f"x-signature is not valid base64: {exc}") from exc
    if not der:
        raise SignatureFormatError("x-signature carries no CMS data")
    return scheme, der


def parse_signature_header(value: str) -> bytes:
    """Return the DER CMS carried by an `x-signature` header value, or raise SignatureFormatError."""
    return split_signature_header(value)[1]


def verify_signature_header(value: str, content: bytes) -> x509.Certificate:
    """Verify an `x-signature` header value over `content`; return the signer certificate.

    As `verify_detached`, and the prefix must be the one of the signer's key type: SignatureInvalidError when an
    EC signer writes `RSA-SHA256;` or an RSA signer `ECDSA-SHA256;`.
    """
    scheme, der = split_signature_header(value)
    certificate = verify_detached(der, content)
    expected = scheme_of(certificate.public_key())
    if scheme != expected:
        raise SignatureInvalidError(f"the signer's key calls for the prefix '{expected};', not '{scheme};'")
    return certificate


def read_signature(data: bytes) -> bytes:
    """The DER CMS in a signature as people keep it in a file: the header form, PEM (`openssl cms -outform PEM`)
    or raw DER. Raises SignatureFormatError for anything else."""
    text = data.strip()
    if text.startswith(tuple(f"{scheme};".encode() for scheme in SCHEMES)):
        return parse_signature_header(text.decode("ascii", "replace"))
    if text.startswith(b"-----BEGIN"):
        lines = [line for line in text.splitlines() if line and not line.startswith(b"-----")]
        try:
            return base64.b64decode(b"".join(lines), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SignatureFormatError(f"the PEM signature is not valid base64: {exc}") from exc
    if data[:1] == b"\x30":  # a DER SEQUENCE
        return data
    raise SignatureFormatError(
        f"give '{RSA_SCHEME};<base64>' or '{EC_SCHEME};<base64>', a PEM CMS or DER CMS signature"
    )


def verify_signature_file(data: bytes, content: bytes) -> x509.Certificate:
    """Verify a signature as `read_signature` reads it over `content`; return the signer certificate. The header
    form must carry the prefix of the signer's key type, as the exchange requires of an `x-signature`."""
    text = data.strip()
    if text.startswith(tuple(f"{scheme};".encode() for scheme in SCHEMES)):
        return verify_signature_header(text.decode("ascii", "replace"), content)
    return verify_detached(read_signature(data), content)


def sign_detached(content: bytes, certificate: x509.Certificate, private_key: SigningKey) -> str:
    """Sign `content` as detached CMS (SHA-256, signer certificate embedded); return the header form, with the
    prefix of the key's type."""
    der = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(content)
        .add_signer(certificate, private_key, hashes.SHA256())
        # Binary: sign the exact bytes, without S/MIME's conversion of line endings to CRLF.
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary])
    )
    return format_signature(der, scheme_of(private_key))


def verify_detached(der: bytes, content: bytes) -> x509.Certificate:
    """Verify a detached CMS SignedData over `content`; return the embedded signer certificate.

    Raises SignatureFormatError when `der` is not a detached CMS SignedData, SignatureInvalidError when the
    signature does not prove that the signer certificate's key signed exactly `content`.
    Says nothing about who issued the certificate: see certs.chain.
    """
    # asn1crypto parses lazily, so a malformed inner structure surfaces wherever it is first touched, as
    # ValueError, TypeError, KeyError or IndexError, and cryptography has errors of its own that are not
    # ValueErrors (x509.InvalidVersion). Any of them is a signature the exchange cannot read: a 403, never a 500.
    # Only the fields verification needs are touched: parsing the whole tree (`.native`) cost most of the time
    # of a verification.
    try:
        signed_data = _load_signed_data(der)
        signer_infos = signed_data["signer_infos"]
        if len(signer_infos) != 1:
            raise SignatureInvalidError(f"exactly one signer is required, found {len(signer_infos)}")
        signer_info = signer_infos[0]
        certificate = _signer_certificate(signed_data, signer_info)
        digest_algorithm = signer_info["digest_algorithm"]["algorithm"].native
        if digest_algorithm != "sha256":
            raise SignatureInvalidError(f"digest algorithm {digest_algorithm} is not accepted; use sha256")
        content_type = signed_data["encap_content_info"]["content_type"].native
        signed_bytes = _signed_bytes(signer_info, content_type, content)
        _check_signature_math(certificate, signer_info, signed_bytes)
    except CertificateError:
        raise
    except Exception as exc:
        raise SignatureFormatError(f"x-signature is not a parseable DER CMS SignedData: {exc}") from exc
    return certificate


def _load_signed_data(der: bytes) -> cms.SignedData:
    info = cms.ContentInfo.load(der, strict=True)
    if info["content_type"].native != "signed_data":
        raise SignatureFormatError(f"CMS content type is {info['content_type'].native}, not signed_data")
    signed_data = info["content"]
    if not isinstance(signed_data["encap_content_info"]["content"], core.Void):
        raise SignatureFormatError("the CMS signature must be detached; this one encapsulates its content")
    return signed_data


class _Embedded(NamedTuple):
    """What verification needs of an embedded signer certificate, parsed once per certificate (see `_embedded`)."""

    certificate: x509.Certificate
    issuer_der: bytes
    serial_number: int
    key_identifier: bytes | None


@functools.lru_cache(maxsize=1024)
def _embedded(der: bytes) -> _Embedded:
    """The signer certificate of these DER bytes, parsed by both libraries once: a participant signs with one
    certificate for years, so every later signature of it finds it here (keyed by the exact bytes)."""
    parsed = asn1_x509.Certificate.load(der)
    try:
        certificate = x509.load_der_x509_certificate(der)
    except Exception as exc:  # ValueError, and x509.InvalidVersion, which is not one
        raise SignatureInvalidError(f"the embedded signer certificate cannot be read: {exc}") from exc
    return _Embedded(certificate, parsed.issuer.dump(), parsed.serial_number, parsed.key_identifier)


def _signer_certificate(signed_data: cms.SignedData, signer_info: cms.SignerInfo) -> x509.Certificate:
    sid = signer_info["sid"]
    for choice in signed_data["certificates"] or []:
        if choice.name != "certificate":
            continue
        candidate = choice.chosen
        embedded = _embedded(candidate.dump())
        if sid.name == "issuer_and_serial_number":
            issuer = sid.chosen["issuer"]
            matches = embedded.serial_number == sid.chosen["serial_number"].native and (
                # The same bytes are the same name; other bytes may still be an equal name (X.520 comparison).
                issuer.dump() == embedded.issuer_der or candidate.issuer == issuer
            )
        else:
            matches = embedded.key_identifier == sid.chosen.native
        if matches:
            return embedded.certificate
    raise SignatureInvalidError("the signer's certificate is not embedded in the CMS signature")


def _signed_bytes(signer_info: cms.SignerInfo, content_type: str, content: bytes) -> bytes:
    signed_attrs = signer_info["signed_attrs"]
    if isinstance(signed_attrs, core.Void):
        return content
    attributes = {attribute["type"].native: attribute["values"] for attribute in signed_attrs}
    if "content_type" not in attributes or "message_digest" not in attributes:
        raise SignatureInvalidError("signed attributes must include content-type and message-digest")
    if attributes["content_type"][0].native != content_type:
        raise SignatureInvalidError("the signed content-type attribute does not match the encapsulated type")
    expected = hashlib.sha256(content).digest()
    signed_digest: bytes = attributes["message_digest"][0].native
    if not hmac.compare_digest(signed_digest, expected):
        raise SignatureInvalidError("the signed message digest does not match the SHA-256 of the body")
    # The signature covers the attributes encoded as a SET OF (tag 0x31), not as the [0] IMPLICIT field
    # (tag 0xA0) they are stored in; the original bytes are kept so a non-canonical encoding still verifies.
    encoded: bytes = signed_attrs.dump()
    return b"\x31" + encoded[1:]


def _check_signature_math(certificate: x509.Certificate, signer_info: cms.SignerInfo, signed: bytes) -> None:
    algorithm = signer_info["signature_algorithm"]["algorithm"].native
    signature = signer_info["signature"].native
    try:
        key = certificate.public_key()
    except (UnsupportedAlgorithm, ValueError) as exc:
        raise SignatureInvalidError(f"the signer certificate's public key cannot be used: {exc}") from exc
    try:
        if algorithm in _RSA_ALGORITHMS and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        elif algorithm in _ECDSA_ALGORITHMS and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
        else:
            raise SignatureInvalidError(
                f"signature algorithm {algorithm} with a {type(key).__name__} signer is not accepted; "
                "use RSA PKCS#1 v1.5 or ECDSA with SHA-256"
            )
    except InvalidSignature as exc:
        raise SignatureInvalidError("the signature does not verify with the signer certificate key") from exc
