"""Crafted detached CMS signatures, built with asn1crypto, that a careless verifier would accept or crash on.

Each craft starts from a good signature by the given key and certificate and changes one thing. Where the change
touches the signed attributes, the attributes are signed again with the same key, so that the changed rule is the
only thing wrong with the signature: a verifier that forgets the rule accepts it.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
DETACHED = [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]


def good(content: bytes, certificate: x509.Certificate, key: SigningKey) -> cms.ContentInfo:
    der = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(content)
        .add_signer(certificate, key, hashes.SHA256())
        .sign(serialization.Encoding.DER, DETACHED)
    )
    return cms.ContentInfo.load(der)


def _sign(key: SigningKey, data: bytes) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def resign(signer_info: cms.SignerInfo, key: SigningKey) -> None:
    """Sign the signer info's (changed) signed attributes again, as a SET OF, the way CMS signs them."""
    encoded = signer_info["signed_attrs"].dump(force=True)
    signer_info["signature"] = _sign(key, b"\x31" + encoded[1:])


def _without_attribute(name: str) -> Callable[[cms.ContentInfo, SigningKey], None]:
    def craft(info: cms.ContentInfo, key: SigningKey) -> None:
        signer_info = info["content"]["signer_infos"][0]
        kept = [attribute for attribute in signer_info["signed_attrs"] if attribute["type"].native != name]
        signer_info["signed_attrs"] = cms.CMSAttributes(kept)
        resign(signer_info, key)

    return craft


def _other_content_type(info: cms.ContentInfo, key: SigningKey) -> None:
    signer_info = info["content"]["signer_infos"][0]
    attributes = []
    for attribute in signer_info["signed_attrs"]:
        if attribute["type"].native == "content_type":
            attribute = cms.CMSAttribute({"type": "content_type", "values": ["enveloped_data"]})
        attributes.append(attribute)
    signer_info["signed_attrs"] = cms.CMSAttributes(attributes)
    resign(signer_info, key)


def _content_type_without_value(info: cms.ContentInfo, key: SigningKey) -> None:
    signer_info = info["content"]["signer_infos"][0]
    attributes = []
    for attribute in signer_info["signed_attrs"]:
        if attribute["type"].native == "content_type":
            attribute = cms.CMSAttribute({"type": "content_type", "values": []})
        attributes.append(attribute)
    signer_info["signed_attrs"] = cms.CMSAttributes(attributes)
    resign(signer_info, key)


def _zero_signers(info: cms.ContentInfo, key: SigningKey) -> None:
    info["content"]["signer_infos"] = cms.SignerInfos([])


def _two_signers(info: cms.ContentInfo, key: SigningKey) -> None:
    signer_info = info["content"]["signer_infos"][0]
    info["content"]["signer_infos"] = cms.SignerInfos([signer_info, signer_info.copy()])


def _sid_by_key_identifier(info: cms.ContentInfo, key: SigningKey) -> None:
    signer_info = info["content"]["signer_infos"][0]
    certificate = info["content"]["certificates"][0].chosen
    signer_info["sid"] = cms.SignerIdentifier({"subject_key_identifier": certificate.key_identifier})


def _replace_certificate(info: cms.ContentInfo, change: Callable[[bytes], bytes]) -> None:
    der = change(info["content"]["certificates"][0].chosen.dump())
    info["content"]["certificates"] = cms.CertificateSet([cms.CertificateChoices.load(der)])


def _damaged_certificate(der: bytes) -> bytes:
    """The signer's public key in the embedded certificate is damaged: the key's first INTEGER (the RSA modulus)
    retagged as an OCTET STRING, or an EC point's form byte made invalid. The length stays, so the CMS around it
    still parses and issuer and serial still match the sid. Done on the final bytes: asn1crypto would refuse to
    serialise the damaged key."""
    signed_data = cms.ContentInfo.load(der)["content"]
    spki_info = signed_data["certificates"][0].chosen["tbs_certificate"]["subject_public_key_info"]
    spki = spki_info.dump()
    key_der = bytearray(spki_info["public_key"].contents[1:])  # after the BIT STRING's unused-bits byte
    if key_der[0] == 0x30:
        header = 2 + (key_der[1] & 0x7F if key_der[1] & 0x80 else 0)
        key_der[header] = 0x04
    else:
        key_der[0] = 0x05  # no point encoding starts so (0x06 and 0x07, hybrid, would still be read)
    damaged = spki[: len(spki) - len(key_der)] + bytes(key_der)
    assert der.count(spki) == 1
    return der.replace(spki, damaged)


def _invalid_version_certificate(info: cms.ContentInfo, key: SigningKey) -> None:
    """The embedded certificate claims X.509 version 8 and the signer is found by subjectKeyIdentifier."""
    _sid_by_key_identifier(info, key)

    def change(der: bytes) -> bytes:
        # TBSCertificate starts with `[0] EXPLICIT INTEGER 2` (v3): a0 03 02 01 02; make it 7.
        assert b"\xa0\x03\x02\x01\x02" in der
        return der.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x07", 1)

    _replace_certificate(info, change)


CRAFTS: dict[str, Callable[[cms.ContentInfo, SigningKey], None]] = {
    "zero-signers": _zero_signers,
    "two-signers": _two_signers,
    "content-type-missing": _without_attribute("content_type"),
    "content-type-different": _other_content_type,
    "content-type-without-value": _content_type_without_value,
    "message-digest-missing": _without_attribute("message_digest"),
    "invalid-version-certificate": _invalid_version_certificate,
}


NAMES = [*CRAFTS, "damaged-certificate"]


def crafted(name: str, content: bytes, certificate: x509.Certificate, key: SigningKey) -> bytes:
    """The DER of the named craft of a good signature over `content`."""
    info = good(content, certificate, key)
    if name == "damaged-certificate":
        return _damaged_certificate(info.dump())
    CRAFTS[name](info, key)
    return info.dump(force=True)


def by_key_identifier(content: bytes, certificate: x509.Certificate, key: SigningKey) -> bytes:
    """A good signature whose signer is identified by subjectKeyIdentifier rather than issuer and serial."""
    info = good(content, certificate, key)
    _sid_by_key_identifier(info, key)
    return info.dump(force=True)


def self_signed_ca(name: x509.Name, key: SigningKey, not_before: datetime, not_after: datetime) -> x509.Certificate:
    """A CA certificate of our own making, its own issuer, that may sign certificates but no other CA's."""
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )


def foreign_certificate(
    common_name: str, *, ca_subject: x509.Name | None = None, serial: int | None = None
) -> tuple[x509.Certificate, SigningKey]:
    """A signing certificate from a CA of our own making (optionally wearing another CA's name and a chosen serial)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = ca_subject or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Foreign Test CA")])
    now = datetime.now(UTC)
    ca = self_signed_ca(ca_name, ca_key, now - timedelta(days=1), now + timedelta(days=7300))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf.verify_directly_issued_by(ca)  # a well-formed chain: refusal can only be for the CA it chains to
    return leaf, leaf_key
