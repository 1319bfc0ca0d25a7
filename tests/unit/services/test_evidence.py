"""Evidence bundles on the in-memory store: who gets one, what it holds, and the offline check of every part."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from exchange.domain.messages import Message
from exchange.kernel.errors import NotFoundError
from exchange.services import evidence
from exchange.services.evidence import BundleError, Claim, check_bundle
from tests.unit.services.conftest import Market, Member, unit_authority


async def signed_and_deleted(market: Market) -> tuple[Member, Member, str]:
    """A message sent, delivered and deleted with the recipient's signature, all under a signed tree head."""
    sender = await market.participant("MC", ["MC"])
    recipient = await market.participant("LNSP", ["LNSP"])
    mcid = await market.send(sender, recipient)
    message = market.services.ledger.find(Message, Message.create_id(mcid))
    assert message is not None
    signature = recipient.sign(f"{mcid}|{message.payload_sha256}".encode())
    await market.caught_up()
    await market.services.mailbox.delete(recipient.participant_id, "pqd", "bpqd", mcid, signature)
    await market.services.verifiable_log.sign_tree_head()
    return sender, recipient, mcid


def parts(bundle: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


def failed(claims: list[Claim]) -> set[str]:
    return {claim.part for claim in claims if not claim.proven}


async def test_the_senders_bundle_holds_every_part_and_every_claim_is_proven(market: Market) -> None:
    """Payload, signatures, receipt, the signed delete, three leaves with proofs, the head and both certificates."""
    sender, recipient, mcid = await signed_and_deleted(market)
    bundle = await market.services.evidence.bundle(sender.participant_id, mcid)
    files = parts(bundle)
    manifest = json.loads(files[evidence.MANIFEST])
    assert manifest["messageContextId"] == mcid
    assert {p["name"] for p in manifest["parts"]} == set(files) - {evidence.MANIFEST}
    assert {p["leafKind"] for p in manifest["parts"] if p["kind"] == "leaf"} == {"accepted", "queued", "deleted"}
    assert evidence.delete_signature_name(recipient.participant_id) in files
    claims = check_bundle(bundle)
    assert failed(claims) == set()
    assert {claim.part for claim in claims} == set(files) - {evidence.MANIFEST}


async def test_one_changed_byte_of_the_payload_fails_and_names_the_payload(market: Market) -> None:
    """The hash, the sender's signature and the hub's re-signature no longer hold; the rest still does."""
    sender, _, mcid = await signed_and_deleted(market)
    files = parts(await market.services.evidence.bundle(sender.participant_id, mcid))
    payload = bytearray(files[evidence.PAYLOAD])
    payload[10] ^= 1
    files[evidence.PAYLOAD] = bytes(payload)
    claims = check_bundle(rezip(files))
    assert failed(claims) == {
        evidence.PAYLOAD,
        evidence.SENDER_SIGNATURE,
        evidence.RECEIPT,
        evidence.HUB_SIGNATURE,
        *(n for n in files if n.startswith("signatures/delete-")),
    }


async def test_a_leaf_changed_after_the_head_was_signed_fails_its_inclusion(market: Market) -> None:
    """Rewriting a fact in the bundle breaks its audit path to the signed root."""
    sender, _, mcid = await signed_and_deleted(market)
    files = parts(await market.services.evidence.bundle(sender.participant_id, mcid))
    name = next(n for n in files if n.startswith("log/leaf-") and b"queued" in files[n])
    entry = json.loads(files[name])
    entry["leaf"] = entry["leaf"].replace("queuedDateTime", "queuedDateTimf")
    files[name] = json.dumps(entry).encode()
    assert failed(check_bundle(rezip(files))) == {name}


async def test_a_bundle_checked_against_another_ca_fails(
    market: Market, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """With the CA the auditor trusts, a bundle of another exchange proves nothing."""
    sender, _, mcid = await signed_and_deleted(market)
    bundle = await market.services.evidence.bundle(sender.participant_id, mcid)
    other = unit_authority(tmp_path_factory.mktemp("other-pki"))
    assert evidence.CA_CERTIFICATE in failed(check_bundle(bundle, other.ca_certificate))
    assert evidence.TREE_HEAD in failed(check_bundle(bundle, other.ca_certificate))


async def test_a_recipient_gets_its_own_leaves_and_a_stranger_nothing(market: Market) -> None:
    """Access is /log/proof's: the recipient sees the acceptance and its own facts; anyone else gets 404."""
    _, recipient, mcid = await signed_and_deleted(market)
    other = await market.participant("LNSP", ["LNSP"])
    files = parts(await market.services.evidence.bundle(recipient.participant_id, mcid))
    assert len([n for n in files if n.startswith("log/leaf-")]) == 3
    with pytest.raises(NotFoundError):
        await market.services.evidence.bundle(other.participant_id, mcid)


async def test_no_bundle_before_the_acceptance_is_under_a_signed_head(market: Market) -> None:
    """A message just accepted has no proof yet: 404 until the next tree head, not a bundle without one."""
    sender, later = await market.sent_after_signed_head()
    with pytest.raises(NotFoundError):
        await market.services.evidence.bundle(sender.participant_id, later)


def test_a_file_that_is_not_a_bundle_is_refused_plainly() -> None:
    """Not a zip, or a zip without a manifest, is a BundleError, not a traceback."""
    with pytest.raises(BundleError):
        check_bundle(b"not a zip")
    with pytest.raises(BundleError):
        check_bundle(rezip({"payload": b"{}"}))
