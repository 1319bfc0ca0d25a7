"""Acceptance rules for participants' certificate signing requests."""

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from certs.errors import CsrRejectedError

MINIMUM_RSA_BITS = 2048
_KEY_ADVICE = "use RSA 2048 or stronger, or EC P-256"


def load_and_check_csr(csr_pem: bytes, participant_id: str) -> x509.CertificateSigningRequest:
    """Parse a PEM CSR and check it may become a certificate of `participant_id`.

    Raises CsrRejectedError with a reason a participant can act on.
    """
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError as exc:
        raise CsrRejectedError(f"not a PEM certificate signing request: {exc}") from exc
    try:
        self_signed = csr.is_signature_valid
    except Exception as exc:  # an unknown key type or algorithm surfaces here, not at load
        raise CsrRejectedError(f"the CSR signature cannot be checked: {exc}") from exc
    if not self_signed:
        raise CsrRejectedError("the CSR's self-signature is invalid (was it altered after signing?)")
    _check_common_name(csr, participant_id)
    _check_key(csr)
    return csr


def _check_common_name(csr: x509.CertificateSigningRequest, participant_id: str) -> None:
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        raise CsrRejectedError("the CSR subject has no common name (CN)")
    common_name = names[0].value
    if isinstance(common_name, bytes):
        common_name = common_name.decode("utf-8", "replace")
    if not common_name.startswith(participant_id):
        raise CsrRejectedError(
            f"the CSR common name {common_name!r} must begin with the participant id {participant_id!r}"
        )


def _check_key(csr: x509.CertificateSigningRequest) -> None:
    try:
        key = csr.public_key()
    except Exception as exc:  # unsupported key algorithms cannot even be loaded
        raise CsrRejectedError(f"the CSR key type is not supported; {_KEY_ADVICE}") from exc
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MINIMUM_RSA_BITS:
            raise CsrRejectedError(f"RSA {key.key_size}-bit keys are too short; {_KEY_ADVICE}")
        return
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise CsrRejectedError(f"EC keys on curve {key.curve.name} are not accepted; {_KEY_ADVICE}")
        return
    kind = type(key).__name__.removesuffix("PublicKey").lstrip("_")
    raise CsrRejectedError(f"{kind} keys are not accepted; {_KEY_ADVICE}")
