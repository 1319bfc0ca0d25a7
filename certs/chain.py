"""Whether a certificate was issued by the exchange CA and is valid at a given moment."""

from datetime import UTC, datetime

from cryptography import x509
from cryptography.x509 import verification

from certs.errors import ChainError

# The web PKI end-entity profile demands a subjectAltName; exchange certificates name their holder in the
# subject CN only (the CSR's subject is copied as is), so the SAN may be absent. Everything else (clientAuth
# EKU, keyUsage, AKI, validity, the CA's signature) stays as the web PKI profile checks it.
_EE_POLICY = verification.ExtensionPolicy.webpki_defaults_ee().may_be_present(
    x509.SubjectAlternativeName, verification.Criticality.AGNOSTIC, None
)


def check_issued_by(certificate: x509.Certificate, ca: x509.Certificate, now: datetime) -> None:
    """Raise ChainError unless `certificate` was issued directly by `ca` and both are valid at `now`.

    `now` is taken as UTC when naive. Revocation is not checked here: the exchange keeps certificate status.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store([ca]))
        .time(now)
        .extension_policies(ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(), ee_policy=_EE_POLICY)
        .build_client_verifier()
    )
    try:
        verifier.verify(certificate, [])
    except verification.VerificationError as exc:
        raise ChainError(_reason(certificate, ca, now, exc)) from exc


def serial_hex(certificate: x509.Certificate) -> str:
    """The certificate's serial number as the API writes it: lowercase hex, no prefix, no leading zeros."""
    return format(certificate.serial_number, "x")


def _reason(certificate: x509.Certificate, ca: x509.Certificate, now: datetime, exc: Exception) -> str:
    # The policy engine's messages are terse; name the common causes plainly.
    if certificate.issuer != ca.subject:
        return f"the certificate was issued by {certificate.issuer.rfc4514_string()}, not by the exchange CA"
    if not ca.not_valid_before_utc <= now <= ca.not_valid_after_utc:
        return f"the exchange CA is not valid at {now.isoformat()}"
    if now < certificate.not_valid_before_utc:
        return f"the certificate is not valid before {certificate.not_valid_before_utc.isoformat()}"
    if now > certificate.not_valid_after_utc:
        return f"the certificate expired at {certificate.not_valid_after_utc.isoformat()}"
    return f"the certificate does not chain to the exchange CA: {exc}"
