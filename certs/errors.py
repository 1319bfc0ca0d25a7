"""Errors raised by the certificate package; each carries a human `reason` fit for a problem response."""


class CertificateError(Exception):
    """Base of every certificate failure; `str(exc)` is the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class CsrRejectedError(CertificateError):
    """The certificate signing request cannot be accepted."""


class SignatureFormatError(CertificateError):
    """The x-signature value is not `RSA-SHA256;` or `ECDSA-SHA256;` then base64 DER CMS, or not a detached CMS
    SignedData."""


class SignatureInvalidError(CertificateError):
    """The CMS signature is well-formed but does not prove the signer certificate's key signed the content."""


class ChainError(CertificateError):
    """The certificate was not issued by the exchange CA or is outside its validity."""


class KeyPassphraseError(CertificateError):
    """The passphrase given does not open the exchange's encrypted private keys."""
