"""Evidence bundles: everything that proves one message's story, in a zip.

The bundle is the one home of its own format: `EvidenceBundles.bundle` writes it for a party of the message, and
`check_bundle` reads it back offline, with nothing but the exchange CA, for `idx verify evidence`. Every part is
named in `manifest.json` with what it claims, so an auditor can check the parts one by one with other tools too.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from certs.authority import CertificateAuthority
from certs.chain import check_issued_by
from certs.errors import CertificateError
from certs.receipts import is_hub_certificate, receipt_content
from certs.signature import verify_signature_header
from certs.tree_heads import verify_tree_head
from exchange.domain import merkle
from exchange.domain.messages import Message
from exchange.eventstore.ledger import Ledger
from exchange.kernel.clock import iso
from exchange.kernel.errors import NotFoundError
from exchange.readmodels.merkle_log import TreeHead
from exchange.services.verifiable_log import InclusionProof, VerifiableLog

FORMAT = "idx-evidence/1"
MANIFEST = "manifest.json"
PAYLOAD = "payload"
SENDER_SIGNATURE = "signatures/sender.sig"
RECEIPT = "signatures/receipt.sig"
HUB_SIGNATURE = "signatures/hub.sig"
TREE_HEAD = "log/tree-head.json"
CA_CERTIFICATE = "certs/ca.pem"
HUB_CERTIFICATE = "certs/hub.pem"


def delete_signature_name(recipient: str) -> str:
    return f"signatures/delete-{recipient}.sig"


def leaf_name(index: int) -> str:
    return f"log/leaf-{index}.json"


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


class EvidenceBundles:
    """Builds the evidence bundle of a message for a caller who may have proofs of its leaves."""

    def __init__(self, ledger: Ledger, verifiable_log: VerifiableLog, authority: CertificateAuthority) -> None:
        self._ledger = ledger
        self._log = verifiable_log
        self._authority = authority

    async def bundle(self, participant_id: str, message_context_id: str) -> bytes:
        """The evidence zip; NotFoundError unless the caller may have proofs of the message and its acceptance
        leaf is in a signed tree head."""
        head = await self._log.tree_head()
        # The acceptance proof does the access check of /log/proof: a stranger, or a message not yet under a
        # signed head, gets the same 404.
        accepted = await self._log.inclusion(participant_id, message_context_id, "accepted", None, head.tree_size)
        message = await asyncio.to_thread(self._ledger.find, Message, Message.create_id(message_context_id))
        if message is None:  # cannot happen: a leaf is only made of a stored message
            raise NotFoundError(f"no message of yours has messageContextId {message_context_id}")
        proofs = [accepted]
        for recipient in sorted(message.recipients):
            for kind in ("queued", "deleted", "expired"):
                try:
                    proofs.append(
                        await self._log.inclusion(participant_id, message_context_id, kind, recipient, head.tree_size)
                    )
                except NotFoundError:
                    continue  # not (yet) a fact, or another recipient's
        return await asyncio.to_thread(self._zip, message, head, proofs)

    def _zip(self, message: Message, head: TreeHead, proofs: list[InclusionProof]) -> bytes:
        size = head.tree_size
        received = iso(message.received_at)
        parts: dict[str, bytes] = {}
        described: list[dict[str, Any]] = []

        def add(name: str, content: bytes, kind: str, claim: str, **more: Any) -> None:
            parts[name] = content
            described.append({"name": name, "kind": kind, "claim": claim, **more})

        add(PAYLOAD, message.payload, "payload", "the bytes the sender submitted; their SHA-256 is payloadSha256")
        add(
            SENDER_SIGNATURE,
            message.signature.encode(),
            "sender-signature",
            "the sender signed exactly the payload (x-original-signature), with a certificate the CA issued",
            signs=PAYLOAD,
        )
        add(
            RECEIPT,
            message.receipt.encode(),
            "receipt",
            "the hub received the payload at receivedDateTime",
            signs="messageContextId|payloadSha256|receivedDateTime",
        )
        add(
            HUB_SIGNATURE,
            message.hub_signature.encode(),
            "hub-signature",
            "the hub handed out exactly the payload it accepted (x-signature)",
            signs=PAYLOAD,
        )
        for proof in proofs:
            leaf = json.loads(proof.leaf)
            if leaf["kind"] == "deleted" and leaf["recipientSignature"] is not None:
                add(
                    delete_signature_name(leaf["recipient"]),
                    leaf["recipientSignature"].encode(),
                    "delete-signature",
                    f"{leaf['recipient']} acknowledged the message by a signed DELETE",
                    signs="messageContextId|payloadSha256",
                    recipient=leaf["recipient"],
                )
        for proof in proofs:
            leaf = json.loads(proof.leaf)
            add(
                leaf_name(proof.leaf_index),
                json.dumps(
                    {
                        "leafIndex": proof.leaf_index,
                        "leaf": proof.leaf.decode(),
                        "treeSize": proof.tree_size,
                        "auditPath": [_b64(p) for p in proof.audit_path],
                    },
                    indent=2,
                ).encode(),
                "leaf",
                f"the {leaf['kind']} fact is leaf {proof.leaf_index} of the signed tree of {size} leaves",
                leafKind=leaf["kind"],
            )
        add(
            TREE_HEAD,
            json.dumps(
                {
                    "treeSize": head.tree_size,
                    "rootHash": _b64(head.root_hash),
                    "timestamp": head.timestamp,
                    "signature": head.signature,
                },
                indent=2,
            ).encode(),
            "tree-head",
            f"the hub committed to its whole log of {size} leaves",
            signs="treeSize|rootHash|timestamp",
        )
        add(CA_CERTIFICATE, self._authority.ca_pem().encode(), "ca-certificate", "the exchange CA: the trust anchor")
        add(HUB_CERTIFICATE, self._authority.hub_pem().encode(), "hub-certificate", "the hub's current certificate")
        manifest = {
            "format": FORMAT,
            "messageContextId": message.message_context_id,
            "payloadSha256": message.payload_sha256,
            "receivedDateTime": received,
            "initiatingParticipantId": message.sender_id,
            "recipients": sorted(message.recipients),
            "parts": described,
        }
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
            for name, content in parts.items():
                archive.writestr(name, content)
        return out.getvalue()


@dataclass(frozen=True)
class Claim:
    """One thing the bundle claims, the part that claims it, and whether it held."""

    part: str
    claim: str
    proven: bool
    reason: str = ""


class BundleError(ValueError):
    """The file is not an evidence bundle at all (not a zip, no manifest, a part missing)."""


def check_bundle(data: bytes, trusted_ca: x509.Certificate | None = None) -> list[Claim]:
    """Check every part of a bundle offline, with `trusted_ca` or else the CA the bundle carries.

    Raises BundleError when the file cannot be read as a bundle; every other failure is a claim not proven.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        manifest = json.loads(archive.read(MANIFEST))
        files = {name: archive.read(name) for name in archive.namelist()}
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise BundleError(f"not an evidence bundle: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{MANIFEST} is not of the format {FORMAT}")
    try:
        return _Checker(manifest, files, trusted_ca).run()
    except (KeyError, TypeError, AttributeError) as error:
        raise BundleError(f"{MANIFEST} lacks or misstates {error}") from error


class _Checker:
    def __init__(self, manifest: dict[str, Any], files: dict[str, bytes], trusted_ca: x509.Certificate | None):
        self.manifest = manifest
        self.files = files
        self.trusted_ca = trusted_ca
        self.claims: list[Claim] = []
        self.mcid = str(manifest["messageContextId"])
        self.received = str(manifest["receivedDateTime"])

    def run(self) -> list[Claim]:
        ca = self._ca()
        if ca is None:
            return self.claims
        payload = self.files[PAYLOAD]
        sha = hashlib.sha256(payload).hexdigest()
        head = json.loads(self.files[TREE_HEAD])
        parts = list(self.manifest["parts"])
        leaves = [json.loads(self.files[p["name"]]) | {"part": p["name"]} for p in parts if p["kind"] == "leaf"]
        accepted = [entry for entry in leaves if json.loads(entry["leaf"])["kind"] == "accepted"]
        self._check(
            PAYLOAD,
            "its SHA-256 is the payloadSha256 of the manifest and of the accepted leaf",
            lambda: _require(
                sha == self.manifest["payloadSha256"]
                and bool(accepted)
                and all(json.loads(e["leaf"])["payloadSha256"] == sha for e in accepted),
                f"the payload's SHA-256 is {sha}, not the payloadSha256 {self.manifest['payloadSha256']} claimed",
            ),
        )
        at = datetime.fromisoformat(self.received)
        self._check(
            SENDER_SIGNATURE,
            "the sender signed exactly the payload, with a certificate the CA issued",
            lambda: self._signed_by_participant(self.files[SENDER_SIGNATURE], payload, ca, at),
        )
        receipt = receipt_content(self.mcid, sha, self.received)
        self._check(
            RECEIPT,
            f"the hub received the payload at {self.received}",
            lambda: self._signed_by_hub(self.files[RECEIPT], receipt, ca, at),
        )
        self._check(
            HUB_SIGNATURE,
            "the hub re-signed exactly the payload",
            lambda: self._signed_by_hub(self.files[HUB_SIGNATURE], payload, ca, at),
        )
        facts = [json.loads(entry["leaf"]) for entry in leaves]
        deleted = {fact["recipient"]: fact for fact in facts if fact["kind"] == "deleted"}
        for part in parts:
            if part["kind"] != "delete-signature":
                continue
            recipient, signature = str(part["recipient"]), self.files[part["name"]]
            self._check(
                part["name"],
                f"{recipient} signed messageContextId|payloadSha256 when it deleted the message",
                self._delete_signed,
                signature,
                deleted.get(recipient),
                sha,
                ca,
            )
        self._check(
            TREE_HEAD,
            f"the hub signed the tree head of {head.get('treeSize')} leaves",
            lambda: _hub_tree_head(head, ca),
        )
        for entry in leaves:
            fact = json.loads(entry["leaf"])
            self._check(
                entry["part"],
                f"the {fact['kind']} fact is leaf {entry['leafIndex']} of the tree of {head['treeSize']} leaves",
                self._included,
                entry,
                head,
            )
        self._check(
            HUB_CERTIFICATE,
            "the hub certificate was issued by the CA",
            lambda: _hub_certificate(self.files[HUB_CERTIFICATE], ca),
        )
        return self.claims

    def _ca(self) -> x509.Certificate | None:
        carried = self.files.get(CA_CERTIFICATE)
        if self.trusted_ca is not None:
            self._check(
                CA_CERTIFICATE,
                "the bundle's CA is the CA you trust",
                lambda: _require(
                    carried is not None and x509.load_pem_x509_certificate(carried) == self.trusted_ca,
                    "the bundle carries another CA; the parts are checked against yours",
                ),
            )
            return self.trusted_ca
        try:
            ca = x509.load_pem_x509_certificate(carried or b"")
        except ValueError as error:
            self.claims.append(Claim(CA_CERTIFICATE, "the exchange CA", False, f"not a PEM certificate: {error}"))
            return None
        fingerprint = ca.fingerprint(hashes.SHA256()).hex(":")
        self.claims.append(
            Claim(CA_CERTIFICATE, f"the trust anchor, SHA-256 fingerprint {fingerprint} (compare it out of band)", True)
        )
        return ca

    def _check(self, part: str, claim: str, check: Callable[..., object], *args: Any) -> None:
        try:
            check(*args)
        except (CertificateError, _UnprovenError, ValueError, KeyError, TypeError, binascii.Error) as error:
            self.claims.append(Claim(part, claim, False, str(error) or type(error).__name__))
        else:
            self.claims.append(Claim(part, claim, True))

    def _delete_signed(self, signature: bytes, leaf: dict[str, Any] | None, sha: str, ca: x509.Certificate) -> None:
        if leaf is None or leaf["recipientSignature"] != signature.decode():
            raise _UnprovenError("the signature is not the one recorded in the recipient's deleted leaf")
        at = datetime.fromisoformat(leaf["deletedDateTime"])
        self._signed_by_participant(signature, f"{self.mcid}|{sha}".encode(), ca, at)

    def _included(self, entry: dict[str, Any], head: dict[str, Any]) -> None:
        leaf = str(entry["leaf"]).encode()
        size = int(head["treeSize"])
        if json.loads(leaf)["messageContextId"] != self.mcid:
            raise _UnprovenError(f"the leaf is about another message than {self.mcid}")
        if int(entry["treeSize"]) != size:
            raise _UnprovenError(f"the audit path is for a tree of {entry['treeSize']} leaves, not {size}")
        path = [base64.b64decode(p, validate=True) for p in entry["auditPath"]]
        root = base64.b64decode(head["rootHash"], validate=True)
        if not merkle.verify_inclusion(leaf, int(entry["leafIndex"]), size, path, root):
            raise _UnprovenError("the audit path does not lead to the signed root")

    @staticmethod
    def _signed_by_participant(signature: bytes, content: bytes, ca: x509.Certificate, at: datetime) -> None:
        signer = verify_signature_header(signature.decode(), content)
        check_issued_by(signer, ca, at)
        if is_hub_certificate(signer):
            raise _UnprovenError("signed by the hub, not by a participant")

    @staticmethod
    def _signed_by_hub(signature: bytes, content: bytes, ca: x509.Certificate, at: datetime) -> None:
        signer = verify_signature_header(signature.decode(), content)
        check_issued_by(signer, ca, at)
        if not is_hub_certificate(signer):
            raise _UnprovenError(f"signed by {signer.subject.rfc4514_string()}, not by the hub")


class _UnprovenError(Exception):
    """A claim that does not hold, with the reason."""


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise _UnprovenError(reason)


def _hub_tree_head(head: dict[str, Any], ca: x509.Certificate) -> None:
    verify_tree_head(int(head["treeSize"]), str(head["rootHash"]), str(head["timestamp"]), str(head["signature"]), ca)


def _hub_certificate(pem: bytes, ca: x509.Certificate) -> None:
    hub = x509.load_pem_x509_certificate(pem)
    # Checked when it began: a bundle stays checkable after the hub's key is rolled over or expires.
    check_issued_by(hub, ca, max(hub.not_valid_before_utc, ca.not_valid_before_utc).astimezone(UTC))
    if not is_hub_certificate(hub):
        raise _UnprovenError(f"{hub.subject.rfc4514_string()} is not the hub")
