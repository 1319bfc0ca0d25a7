"""Detached CMS signatures for a signer that signs many messages: a fixed template around one raw signature.

`sign_detached` goes through cryptography's PKCS7 builder, which costs about 1 ms per signature for a 2048-bit
RSA key, four times the private-key operation itself. A hub signs two messages per submission (the receipt and
the re-signature), so `TemplateSigner` builds everything that does not change from one message to the next
once, with asn1crypto (the signer's certificate, its identifier, the algorithms, the content-type attribute),
and per message does only what must be done: the SHA-256 of the content, the signing time, one raw RSA or
ECDSA signature over the signed attributes, and the DER lengths around them.

The result is the same shape the builder makes (SignedData version 1, one SignerInfo by issuer and serial, the
signer certificate embedded, signed attributes content-type, signing-time and message-digest, no encapsulated
content), so `openssl cms -verify -binary` and `verify_detached` accept it. The attributes are written in DER
order (a SET OF is sorted by encoding): verifiers that re-encode them before checking the signature, as OpenSSL
does, then check the very bytes that were signed.
"""

import hashlib
from datetime import UTC, datetime

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from certs.signature import SigningKey, format_signature, scheme_of

_SEQUENCE = 0x30
_SET = 0x31
_OCTET_STRING = 0x04
_UTC_TIME = 0x17
_GENERALIZED_TIME = 0x18
_SIGNED_ATTRIBUTES = 0xA0  # [0] IMPLICIT in SignerInfo
_EXPLICIT_0 = 0xA0  # [0] EXPLICIT content of ContentInfo, and [0] IMPLICIT certificates of SignedData


def _tlv(tag: int, content: bytes) -> bytes:
    """One DER element: tag, definite length, content."""
    length = len(content)
    if length < 0x80:
        return bytes((tag, length)) + content
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(encoded))) + encoded + content


def _oid(name: str) -> bytes:
    encoded: bytes = core.ObjectIdentifier(name).dump()
    return encoded


class TemplateSigner:
    """Signs as one certificate and key, producing `x-signature` header values (`RSA-SHA256;` or `ECDSA-SHA256;`).

    Thread-safe: it holds no state that changes after construction.
    """

    def __init__(self, certificate: x509.Certificate, key: SigningKey) -> None:
        self._key = key
        self._scheme = scheme_of(key)  # refuses a key that is neither RSA nor EC P-256
        signature_algorithm = "sha256_rsa" if isinstance(key, rsa.RSAPrivateKey) else "sha256_ecdsa"
        certificate_der = certificate.public_bytes(serialization.Encoding.DER)
        parsed = asn1_x509.Certificate.load(certificate_der)
        digest_algorithm = algos.DigestAlgorithm({"algorithm": "sha256"}).dump()
        signer_identifier = cms.SignerIdentifier(
            name="issuer_and_serial_number",
            value=cms.IssuerAndSerialNumber({"issuer": parsed.issuer, "serial_number": parsed.serial_number}),
        ).dump()
        version_1 = core.Integer(1).dump()
        self._signed_data_head = (
            version_1
            + _tlv(_SET, digest_algorithm)
            + _tlv(_SEQUENCE, _oid("1.2.840.113549.1.7.1"))  # encapContentInfo: id-data, content absent
            + _tlv(_EXPLICIT_0, certificate_der)
        )
        self._signer_info_head = version_1 + signer_identifier + digest_algorithm
        self._signature_algorithm = algos.SignedDigestAlgorithm({"algorithm": signature_algorithm}).dump()
        self._content_type_attribute = _tlv(
            _SEQUENCE, _oid("1.2.840.113549.1.9.3") + _tlv(_SET, _oid("1.2.840.113549.1.7.1"))
        )
        self._signing_time_oid = _oid("1.2.840.113549.1.9.5")
        self._message_digest_oid = _oid("1.2.840.113549.1.9.4")
        self._signed_data_oid = _oid("1.2.840.113549.1.7.2")

    def sign(self, content: bytes, now: datetime | None = None) -> str:
        """A detached CMS signature over `content`, in the header form with the key type's prefix."""
        return format_signature(self.sign_der(content, now), self._scheme)

    def sign_der(self, content: bytes, now: datetime | None = None) -> bytes:
        """The DER ContentInfo of a detached CMS signature over `content`."""
        attributes = sorted(
            (
                self._content_type_attribute,
                _tlv(_SEQUENCE, self._signing_time_oid + _tlv(_SET, _time(now or datetime.now(UTC)))),
                _tlv(
                    _SEQUENCE,
                    self._message_digest_oid + _tlv(_SET, _tlv(_OCTET_STRING, hashlib.sha256(content).digest())),
                ),
            )
        )
        attributes_content = b"".join(attributes)
        # The signature covers the attributes as a SET OF; SignerInfo stores them as [0] IMPLICIT.
        signature = self._raw_sign(_tlv(_SET, attributes_content))
        signer_info = _tlv(
            _SEQUENCE,
            self._signer_info_head
            + _tlv(_SIGNED_ATTRIBUTES, attributes_content)
            + self._signature_algorithm
            + _tlv(_OCTET_STRING, signature),
        )
        signed_data = _tlv(_SEQUENCE, self._signed_data_head + _tlv(_SET, signer_info))
        return _tlv(_SEQUENCE, self._signed_data_oid + _tlv(_EXPLICIT_0, signed_data))

    def _raw_sign(self, data: bytes) -> bytes:
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return self._key.sign(data, ec.ECDSA(hashes.SHA256()))


def _time(moment: datetime) -> bytes:
    """A CMS signing time: UTCTime through 2049, GeneralizedTime after (RFC 5652, 11.3)."""
    moment = moment.astimezone(UTC)
    if 1950 <= moment.year < 2050:
        return _tlv(_UTC_TIME, moment.strftime("%y%m%d%H%M%SZ").encode("ascii"))
    return _tlv(_GENERALIZED_TIME, moment.strftime("%Y%m%d%H%M%SZ").encode("ascii"))
