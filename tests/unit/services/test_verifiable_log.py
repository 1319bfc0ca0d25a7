"""The verifiable log on the in-memory store: leaves per fact, signed tree heads, proofs and who may have them."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from certs.authority import CertificateAuthority
from certs.tree_heads import verify_tree_head
from exchange.bootstrap import Services
from exchange.domain import merkle
from exchange.kernel.errors import InvalidError, NotFoundError
from exchange.readmodels.merkle_log import MerkleLogProjection
from exchange.readmodels.projector import Projector
from exchange.readmodels.views import open_views
from tests import rfc9162
from tests.unit.services.conftest import Market, SettableClock


async def leaves(services: Services) -> list[bytes]:
    await services.merkle_log.wait_for_latest()
    async with services.views.execute("SELECT leaf FROM log_leaves ORDER BY leaf_index") as cursor:
        return [bytes(row[0]) for row in await cursor.fetchall()]


async def test_each_fact_of_a_message_is_one_leaf_in_the_json_of_api_md(market: Market) -> None:
    """Accepted, queued and deleted each add a leaf: UTF-8 JSON, keys sorted, no whitespace."""
    sender = await market.participant("MC", ["MC"])
    recipient = await market.participant("LNSP", ["LNSP"])
    body = market.body(sender, [recipient])
    receipt = await market.submit(sender, body)
    await market.deliver()
    await market.caught_up()
    await market.delete(recipient, receipt.message_context_id)
    accepted, queued, deleted = (json.loads(leaf) for leaf in await leaves(market.services))
    assert accepted == {
        "kind": "accepted",
        "messageContextId": receipt.message_context_id,
        "payloadSha256": hashlib.sha256(body).hexdigest(),
        "receivedDateTime": receipt.received_date_time,
        "initiatingParticipantId": sender.participant_id,
        "recipients": [recipient.participant_id],
    }
    assert queued["kind"] == "queued" and queued["recipient"] == recipient.participant_id
    assert deleted == {
        "kind": "deleted",
        "messageContextId": receipt.message_context_id,
        "recipient": recipient.participant_id,
        "deletedDateTime": deleted["deletedDateTime"],
        "recipientSignature": None,
    }
    raw = (await leaves(market.services))[0]
    assert raw == json.dumps(accepted, sort_keys=True, separators=(",", ":")).encode()


async def test_a_proof_verifies_against_the_signed_tree_head(market: Market, authority: CertificateAuthority) -> None:
    """The audit path leads from the leaf to the root the hub signed, by an independent RFC 9162 verifier."""
    sender = await market.participant("MC", ["MC"])
    recipient = await market.participant("LNSP", ["LNSP"])
    mcid = await market.send(sender, recipient)
    head = await market.services.verifiable_log.sign_tree_head()
    verify_tree_head(
        head.tree_size,
        base64.b64encode(head.root_hash).decode(),
        head.timestamp,
        head.signature,
        authority.ca_certificate,
    )
    proof = await market.services.verifiable_log.inclusion(
        recipient.participant_id, mcid, "queued", recipient.participant_id, None
    )
    assert proof.tree_size == head.tree_size == 2
    assert rfc9162.verify_inclusion(proof.leaf, proof.leaf_index, proof.tree_size, proof.audit_path, head.root_hash)
    assert rfc9162.mth(await leaves(market.services)) == head.root_hash


async def test_one_tree_head_covers_many_messages(market: Market) -> None:
    """Ten messages signed once make one head of all their leaves, not a signature each."""
    sender = await market.participant("MC", ["MC"])
    recipient = await market.participant("LNSP", ["LNSP"])
    for _ in range(10):
        await market.submit(sender, market.body(sender, [recipient]))
    await market.deliver()
    head = await market.services.verifiable_log.sign_tree_head()
    assert head.tree_size == 20
    async with market.services.views.execute("SELECT count(*) FROM log_heads") as cursor:
        row = await cursor.fetchone()
    assert row is not None and row[0] == 1
    again = await market.services.verifiable_log.sign_tree_head()
    assert again == head  # nothing new: no new signature


async def test_a_later_head_is_consistent_with_an_earlier_one(market: Market) -> None:
    """The consistency proof between two signed heads verifies by RFC 9162 §2.1.4.2."""
    sender = await market.participant("MC", ["MC"])
    recipient = await market.participant("LNSP", ["LNSP"])
    await market.send(sender, recipient)
    first = await market.services.verifiable_log.sign_tree_head()
    for _ in range(3):
        await market.send(sender, recipient)
    second = await market.services.verifiable_log.sign_tree_head()
    found = await market.services.verifiable_log.consistency(first.tree_size, second.tree_size)
    assert found.proof == rfc9162.proof(first.tree_size, await leaves(market.services))
    assert merkle.verify_consistency(first.tree_size, second.tree_size, first.root_hash, second.root_hash, found.proof)


async def test_only_the_parties_and_the_operator_get_a_proof(market: Market) -> None:
    """Another participant gets 404 for a message it neither sent nor received; the operator gets any."""
    sender = await market.participant("MC", ["MC"])
    recipient = await market.participant("LNSP", ["LNSP"])
    other = await market.participant("LNSP", ["LNSP"])
    operator = await market.participant("OP", ["OPERATOR"], enrol=False)
    mcid = await market.send(sender, recipient)
    await market.services.verifiable_log.sign_tree_head()
    log = market.services.verifiable_log
    for party in (sender, recipient, operator):
        assert (await log.inclusion(party.participant_id, mcid, "accepted", None, None)).leaf_index == 0
    with pytest.raises(NotFoundError):
        await log.inclusion(other.participant_id, mcid, "accepted", None, None)
    with pytest.raises(NotFoundError):
        await log.inclusion(other.participant_id, mcid, "queued", other.participant_id, None)


async def test_a_leaf_not_yet_in_a_signed_head_is_not_found(market: Market) -> None:
    """Until a tree head covers the leaf, neither a proof nor the translog's leafIndex shows it."""
    sender, later = await market.sent_after_signed_head()
    await market.services.merkle_log.wait_for_latest()
    log = market.services.verifiable_log
    with pytest.raises(NotFoundError):
        await log.inclusion(sender.participant_id, later, "accepted", None, None)
    assert await log.leaf_index(later) is None
    await log.sign_tree_head()
    assert await log.leaf_index(later) == 2


@pytest.mark.parametrize(
    ("kind", "recipient", "size", "field"),
    [
        ("opened", None, None, "kind"),
        ("accepted", "LNSP1", None, "recipient"),
        ("queued", None, None, "recipient"),
        ("accepted", None, 0, "treeSize"),
        ("accepted", None, 99, "treeSize"),
    ],
)
async def test_bad_proof_parameters_name_the_field(
    market: Market, kind: str, recipient: str | None, size: int | None, field: str
) -> None:
    """An unknown kind, a recipient where none belongs or is missing, a size no head has: 422 naming it."""
    sender = await market.participant("MC", ["MC"])
    other = await market.participant("LNSP", ["LNSP"])
    mcid = await market.send(sender, other)
    await market.services.verifiable_log.sign_tree_head()
    with pytest.raises(InvalidError) as raised:
        await market.services.verifiable_log.inclusion(sender.participant_id, mcid, kind, recipient, size)
    assert [e.field for e in raised.value.errors] == [field]


@pytest.mark.parametrize(("first", "second"), [(0, 1), (2, 1), (1, 99)])
async def test_impossible_consistency_sizes_are_invalid(market: Market, first: int, second: int) -> None:
    """Sizes outside 1..latest signed size, or shrinking, are a 422, never a wrong proof."""
    sender = await market.participant("MC", ["MC"])
    await market.send(sender, await market.participant("LNSP", ["LNSP"]))
    await market.services.verifiable_log.sign_tree_head()
    with pytest.raises(InvalidError):
        await market.services.verifiable_log.consistency(first, second)


async def test_the_log_replays_identically_from_the_event_store(market: Market) -> None:
    """A fresh projection over the same event store makes the same leaves and blocks, so the same roots."""
    sender = await market.participant("MC", ["MC"])
    recipient = await market.participant("LNSP", ["LNSP"])
    for _ in range(5):
        mcid = await market.send(sender, recipient)
    await market.caught_up()
    await market.delete(recipient, mcid)
    original = await leaves(market.services)
    copy = await open_views(Path(":memory:"))
    try:
        projector = Projector(market.services.ledger, copy, MerkleLogProjection(), batch=3)
        await projector.prepare()
        await projector.catch_up()
        for table in ("log_leaves", "log_nodes"):
            query = f"SELECT * FROM {table} ORDER BY 1, 2"
            async with copy.execute(query) as replayed, market.services.views.execute(query) as kept:
                assert [tuple(r) for r in await replayed.fetchall()] == [tuple(r) for r in await kept.fetchall()]
    finally:
        await copy.close()
    assert len(original) == 11


async def test_an_expired_message_adds_an_expired_leaf(market: Market) -> None:
    """A message left in the queue past its retention leaves it as an `expired` leaf naming the recipient."""
    sender = await market.participant("MC", ["MC"])
    recipient = await market.participant("LNSP", ["LNSP"])
    mcid = await market.send(sender, recipient)
    await market.caught_up()
    clock = market.services.clock
    assert isinstance(clock, SettableClock)
    clock.advance(11 * 86400)
    assert await market.services.housekeeper.expire_queues() == 1
    expired = json.loads((await leaves(market.services))[-1])
    assert expired == {
        "kind": "expired",
        "messageContextId": mcid,
        "recipient": recipient.participant_id,
        "expiredDateTime": expired["expiredDateTime"],
    }
    await market.services.verifiable_log.sign_tree_head()
    proof = await market.services.verifiable_log.inclusion(
        recipient.participant_id, mcid, "expired", recipient.participant_id, None
    )
    assert proof.leaf_index == 2


@pytest.mark.parametrize("asked", ["\ud800", "\x00", "a" * 200])
async def test_odd_message_context_ids_are_simply_not_found(market: Market, asked: str) -> None:
    """A lone surrogate, a NUL or a long id (what a query string can decode to) is a 404, never an error."""
    sender = await market.participant("MC", ["MC"])
    await market.send(sender, await market.participant("LNSP", ["LNSP"]))
    await market.services.verifiable_log.sign_tree_head()
    with pytest.raises(NotFoundError):
        await market.services.verifiable_log.inclusion(sender.participant_id, asked, "queued", asked, None)
    assert await market.services.verifiable_log.leaf_index(asked) is None


async def test_a_recipient_gets_no_proof_of_another_recipients_leaves(market: Market) -> None:
    """Of a message to two recipients, each may prove the acceptance and its own queueing, not the other's."""
    sender = await market.participant("MC", ["MC"])
    a = await market.participant("LNSP", ["LNSP"])
    b = await market.participant("LNSP", ["LNSP"])
    receipt = await market.submit(sender, market.body(sender, [a, b]))
    await market.deliver()
    await market.services.verifiable_log.sign_tree_head()
    log = market.services.verifiable_log
    mcid = receipt.message_context_id
    assert (await log.inclusion(a.participant_id, mcid, "queued", a.participant_id, None)).leaf_index >= 1
    assert (await log.inclusion(sender.participant_id, mcid, "queued", b.participant_id, None)).leaf_index >= 1
    with pytest.raises(NotFoundError):
        await log.inclusion(a.participant_id, mcid, "queued", b.participant_id, None)
