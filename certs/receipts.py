"""Submission receipts: the hub's detached CMS signature over `messageContextId|payloadSha256|receivedDateTime`.

A participant keeps the 200 answer of a submission; with the exchange CA certificate alone it can later prove
that the hub received exactly that payload at that time, even after a hub key rollover (the receipt embeds the
hub certificate that signed it, and that certificate chains to the unchanged CA).
"""

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import NameOID

from certs.authority import HUB_COMMON_NAME
from certs.chain import check_issued_by
from certs.errors import CertificateError, SignatureInvalidError
from certs.signature import verify_signature_header

_FIELDS = ("messageContextId", "payloadSha256", "receivedDateTime", "receipt")


class ReceiptFormatError(CertificateError):
    """The document is not a submission answer with messageContextId, payloadSha256, receivedDateTime, receipt."""


@dataclass(frozen=True)
class Receipt:
    message_context_id: str
    payload_sha256: str
    received_date_time: str
    signature: str

    def content(self) -> bytes:
        """The exact bytes the hub signed."""
        return receipt_content(self.message_context_id, self.payload_sha256, self.received_date_time)


def receipt_content(message_context_id: str, payload_sha256: str, received_date_time: str) -> bytes:
    return f"{message_context_id}|{payload_sha256}|{received_date_time}".encode()


def parse_receipt(document: object) -> Receipt:
    """Read a receipt from the 200 answer of a submission (`{"data": {...}}`) or from its `data` object."""
    if isinstance(document, Mapping) and isinstance(document.get("data"), Mapping):
        document = document["data"]
    if not isinstance(document, Mapping):
        raise ReceiptFormatError("a receipt is a JSON object: the 200 answer of a submission")
    missing = [name for name in _FIELDS if not isinstance(document.get(name), str)]
    if missing:
        raise ReceiptFormatError(f"the receipt lacks {', '.join(missing)} (give the 200 answer of a submission)")
    return Receipt(
        message_context_id=document["messageContextId"],
        payload_sha256=document["payloadSha256"],
        received_date_time=document["receivedDateTime"],
        signature=document["receipt"],
    )


def verify_receipt(receipt: Receipt, ca: x509.Certificate, payload: bytes | None = None) -> x509.Certificate:
    """Check the receipt was signed by an exchange hub certificate over its own fields; return that certificate.

    The hub certificate must have been valid at `receivedDateTime` (not necessarily now: receipts outlive hub
    keys). With `payload`, also check that it is the payload the receipt is about.
    Raises a CertificateError subclass naming the reason.
    """
    try:
        received_at = datetime.fromisoformat(receipt.received_date_time)
    except ValueError as exc:
        raise ReceiptFormatError(f"receivedDateTime {receipt.received_date_time!r} is not ISO 8601") from exc
    if received_at.tzinfo is None:
        raise ReceiptFormatError(f"receivedDateTime {receipt.received_date_time!r} has no UTC offset")
    signer = verify_signature_header(receipt.signature, receipt.content())
    check_issued_by(signer, ca, received_at)
    if not is_hub_certificate(signer):
        raise SignatureInvalidError(f"the receipt was signed by {signer.subject.rfc4514_string()}, not by the hub")
    if payload is not None:
        digest = hashlib.sha256(payload).hexdigest()
        if not hmac.compare_digest(digest, receipt.payload_sha256.lower()):
            raise SignatureInvalidError(
                f"the payload's SHA-256 is {digest}, but the receipt is for {receipt.payload_sha256}"
            )
    return signer


def is_hub_certificate(certificate: x509.Certificate) -> bool:
    """The hub's certificates carry its reserved CN, which no participant CSR may ask for."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return len(names) == 1 and names[0].value == HUB_COMMON_NAME
