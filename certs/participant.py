"""The participant's side of the PKI: its own key, its CSR, reading its key back. Nothing here talks to the
exchange; private keys stay with the participant."""

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from certs.errors import CertificateError
from certs.signature import SigningKey

RSA_BITS = 2048


def new_signing_key(*, elliptic: bool = False) -> SigningKey:
    """An RSA-2048 key, or an EC P-256 key when `elliptic`."""
    if elliptic:
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)


def private_key_pem(key: SigningKey) -> bytes:
    """PKCS#8 PEM, unencrypted: protect the file by its mode (0600)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def build_csr(key: SigningKey, common_name: str) -> bytes:
    """A PEM CSR with subject CN=`common_name`, self-signed with SHA-256."""
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM)


def load_signing_key(pem: bytes) -> SigningKey:
    """Read an unencrypted PEM private key (PKCS#8 or traditional), RSA or EC."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise CertificateError(f"not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CertificateError(f"{type(key).__name__} keys cannot sign for the exchange; use RSA or EC P-256")
    return key


def load_certificate(pem: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise CertificateError(f"not a PEM certificate: {exc}") from exc


def check_key_matches(key: SigningKey, certificate: x509.Certificate) -> None:
    """Raise CertificateError unless `certificate` certifies the public half of `key`."""
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    mine = key.public_key().public_bytes(serialization.Encoding.DER, spki)
    theirs = certificate.public_key().public_bytes(serialization.Encoding.DER, spki)
    if mine != theirs:
        raise CertificateError("the key does not belong to the certificate (their public keys differ)")
