"""Signed tree heads of the exchange's Merkle log: what the hub signs, and checking it against the CA."""

from __future__ import annotations

from datetime import datetime

from cryptography import x509

from certs.chain import check_issued_by
from certs.errors import SignatureFormatError, SignatureInvalidError
from certs.receipts import is_hub_certificate
from certs.signature import parse_signature_header, verify_detached


def tree_head_content(tree_size: int, root_hash: str, timestamp: str) -> bytes:
    """The UTF-8 string `treeSize|rootHash|timestamp` (rootHash in base64) the hub's signature covers."""
    return f"{tree_size}|{root_hash}|{timestamp}".encode()


def verify_tree_head(
    tree_size: int, root_hash: str, timestamp: str, signature: str, ca: x509.Certificate
) -> x509.Certificate:
    """Check a tree head was signed by a hub certificate the CA issued, valid at its timestamp; return it.

    Raises a CertificateError subclass naming the reason.
    """
    try:
        signed_at = datetime.fromisoformat(timestamp)
    except ValueError as exc:
        raise SignatureFormatError(f"timestamp {timestamp!r} is not ISO 8601") from exc
    signer = verify_detached(parse_signature_header(signature), tree_head_content(tree_size, root_hash, timestamp))
    check_issued_by(signer, ca, signed_at)
    if not is_hub_certificate(signer):
        raise SignatureInvalidError(f"the tree head was signed by {signer.subject.rfc4514_string()}, not by the hub")
    return signer
