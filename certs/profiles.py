"""The three certificate profiles of the exchange: its CA, its hub signing certificate, and participants'.

Extended key usage: `openssl cms -verify` checks the signer against the `smimesign` purpose unless told
otherwise (OpenSSL 3.0 `check_purpose_smime`): a certificate that has an extendedKeyUsage extension must
list emailProtection, and keyUsage must allow digitalSignature or nonRepudiation. So every signing certificate
carries emailProtection next to its TLS usages, and plain `-CAfile ca.pem` verifies without `-purpose any`.
"""

from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_LIFETIME = timedelta(days=20 * 365 + 5)
HUB_LIFETIME = timedelta(days=10 * 365 + 2)
# Allows for clocks of relying parties that run a little behind the exchange's.
BACKDATE = timedelta(minutes=5)

CertificateKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


def _key_usage(
    *,
    digital_signature: bool = False,
    content_commitment: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    """A keyUsage extension that grants what is named and nothing else: no key or data encipherment, no agreement."""
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


_SIGNING_KEY_USAGE = _key_usage(digital_signature=True, content_commitment=True)
_CA_KEY_USAGE = _key_usage(key_cert_sign=True, crl_sign=True)


def _common_name(value: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, value)])


def build_ca_certificate(key: rsa.RSAPrivateKey, common_name: str, now: datetime) -> x509.Certificate:
    """Self-sign the exchange's root CA certificate."""
    name = _common_name(common_name)
    public_key = key.public_key()
    ski = x509.SubjectKeyIdentifier.from_public_key(public_key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_CA_KEY_USAGE, critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    )
    return builder.sign(key, hashes.SHA256())


def build_signing_certificate(
    *,
    ca_key: rsa.RSAPrivateKey,
    ca_certificate: x509.Certificate,
    subject: x509.Name,
    public_key: CertificateKey,
    not_before: datetime,
    not_after: datetime,
    usages: list[x509.ObjectIdentifier],
) -> x509.Certificate:
    """Issue an end-entity certificate that may sign CMS messages, directly under the CA."""
    ca_ski = ca_certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_SIGNING_KEY_USAGE, critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
    )
    return builder.sign(ca_key, hashes.SHA256())


def hub_subject(common_name: str) -> x509.Name:
    """The subject of the hub's signing certificate."""
    return _common_name(common_name)


HUB_USAGES = [ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CLIENT_AUTH]
PARTICIPANT_USAGES = [
    ExtendedKeyUsageOID.CLIENT_AUTH,
    ExtendedKeyUsageOID.SERVER_AUTH,
    ExtendedKeyUsageOID.EMAIL_PROTECTION,
]
