"""Acceptance rules for participants' certificate signing requests."""

from collections.abc import Collection

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from certs.errors import CsrRejectedError

MINIMUM_RSA_BITS = 2048
# Larger RSA keys add nothing a participant needs and cost every verification dearly (RSA-16384 is some 100
# times the work of RSA-2048 per signature), so they are a way to slow the exchange down.
MAXIMUM_RSA_BITS = 4096
_KEY_ADVICE = "use RSA 2048 to 4096 bits, or EC P-256"


def load_and_check_csr(
    csr_pem: bytes, participant_id: str, *, reserved_common_names: Collection[str] = ()
) -> x509.CertificateSigningRequest:
    """Parse a PEM CSR and check it may become a certificate of `participant_id`.

    The subject has exactly one CN; it is the participant id, or begins with it followed by a character that
    cannot continue a participant id (`MC1-signing`, not `MC10-signing` for MC1), so that no certificate names
    another participant; and it is none of `reserved_common_names` (the exchange's own CA and hub).
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
    _check_common_name(csr, participant_id, reserved_common_names)
    _check_key(csr)
    return csr


def _check_common_name(csr: x509.CertificateSigningRequest, participant_id: str, reserved: Collection[str]) -> None:
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        raise CsrRejectedError("the CSR subject has no common name (CN)")
    if len(names) > 1:
        raise CsrRejectedError("the CSR subject has more than one common name (CN); give exactly one")
    common_name = names[0].value
    if isinstance(common_name, bytes):
        common_name = common_name.decode("utf-8", "replace")
    following = common_name[len(participant_id) : len(participant_id) + 1]
    if not common_name.startswith(participant_id) or _continues_an_id(following):
        raise CsrRejectedError(
            f"the CSR common name {common_name!r} must begin with the participant id {participant_id!r} "
            f"(e.g. {participant_id + '-signing'!r})"
        )
    if common_name.strip().casefold() in {name.casefold() for name in reserved}:
        raise CsrRejectedError(f"the common name {common_name!r} is reserved for the exchange itself")


def _continues_an_id(character: str) -> bool:
    return character.isascii() and (character.isdigit() or character.isupper())


def _check_key(csr: x509.CertificateSigningRequest) -> None:
    # An unsupported key type cannot be loaded, and is refused already when the self-signature is checked.
    key = csr.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MINIMUM_RSA_BITS:
            raise CsrRejectedError(f"RSA {key.key_size}-bit keys are too short; {_KEY_ADVICE}")
        if key.key_size > MAXIMUM_RSA_BITS:
            raise CsrRejectedError(f"RSA {key.key_size}-bit keys are too long; {_KEY_ADVICE}")
        return
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise CsrRejectedError(f"EC keys on curve {key.curve.name} are not accepted; {_KEY_ADVICE}")
        return
    kind = type(key).__name__.removesuffix("PublicKey")
    raise CsrRejectedError(f"{kind} keys are not accepted; {_KEY_ADVICE}")
