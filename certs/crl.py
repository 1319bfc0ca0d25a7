"""Certificate revocation lists of the exchange CA (RFC 5280 §5).

A recipient holding a participant's signature (`x-original-signature`) checks that the signer was not revoked with
the CA's CRL, e.g. `openssl verify -crl_check -CAfile ca.pem -CRLfile crl.pem signer.pem`, or `idx certs verify
--crl`. The exchange makes a new CRL on every revocation and at least daily; `nextUpdate` leaves a second day, so a
relying party that fetches daily never holds a lapsed one.

Leaf of the project: imports nothing outside `certs`.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from certs.chain import serial_hex
from certs.errors import CertificateError

CRL_LIFETIME = timedelta(days=2)


class RevokedCertificateError(CertificateError):
    """The certificate is on the CA's revocation list."""


class RevocationListError(CertificateError):
    """The CRL cannot be read, was not signed by the CA, or has lapsed."""


@dataclass(frozen=True)
class RevokedEntry:
    """One revoked certificate: its serial number and when it was revoked."""

    serial_number: int
    revoked_at: datetime


def build_crl(
    ca_key: rsa.RSAPrivateKey,
    ca_certificate: x509.Certificate,
    revoked: Iterable[RevokedEntry],
    now: datetime,
    number: int,
) -> x509.CertificateRevocationList:
    """A CRL signed by the CA listing every entry of `revoked`, valid from `now` for CRL_LIFETIME.

    `number` is the CRL number (RFC 5280 §5.2.3), which must grow with each CRL the CA issues.
    """
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_certificate.subject)
        .last_update(now)
        .next_update(now + CRL_LIFETIME)
        .add_extension(x509.CRLNumber(number), critical=False)
        # Lets a verifier pick the CA's key even after a CA rollover under the same name.
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    for entry in sorted(revoked, key=lambda e: e.serial_number):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(entry.serial_number)
            .revocation_date(entry.revoked_at)
            .build()
        )
    return builder.sign(ca_key, hashes.SHA256())


def load_crl(data: bytes) -> x509.CertificateRevocationList:
    """Read a CRL in PEM or DER; raise RevocationListError when it is neither."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError as error:
        raise RevocationListError(f"not a CRL in PEM or DER: {error}") from error


def check_not_revoked(
    certificate: x509.Certificate, crl: x509.CertificateRevocationList, ca: x509.Certificate, now: datetime
) -> None:
    """Raise unless `crl` is the CA's, signed by it, current at `now`, and does not list `certificate`.

    `now` is taken as UTC when naive.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if crl.issuer != ca.subject:
        raise RevocationListError(f"the CRL was issued by {crl.issuer.rfc4514_string()}, not by the exchange CA")
    ca_key = ca.public_key()
    if not isinstance(ca_key, rsa.RSAPublicKey) or not crl.is_signature_valid(ca_key):
        raise RevocationListError("the CRL was not signed by the exchange CA")
    if now < crl.last_update_utc:
        raise RevocationListError(f"the CRL is not valid before {crl.last_update_utc.isoformat()}")
    next_update = crl.next_update_utc
    if next_update is not None and now > next_update:
        raise RevocationListError(f"the CRL lapsed at {next_update.isoformat()}; fetch a current one")
    entry = crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
    if entry is not None:
        raise RevokedCertificateError(
            f"certificate {serial_hex(certificate)} was revoked at {entry.revocation_date_utc.isoformat()}"
        )
