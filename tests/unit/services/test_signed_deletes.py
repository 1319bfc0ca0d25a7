"""Recipient-signed deletes and the sender's acknowledgements, on the in-memory store."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from exchange.domain.messages import Delivery, Message
from exchange.functions.bpqd.function import BPQD_RESOURCE, BasicPowerQualityData
from exchange.functions.registry import Registry
from exchange.kernel.errors import InvalidError, NotFoundError, SignatureRefusedError
from tests.unit.services.conftest import BuildServices, Market, Member, certificate_of


class SignedDeletesRequired(BasicPowerQualityData):
    """BPQD whose recipients must sign their deletes."""

    resources = (replace(BPQD_RESOURCE, signed_delete="required"),)


def acknowledgement_of(market: Market, recipient: Member, context_id: str) -> str:
    """The recipient's signature over what a signed delete covers: messageContextId|payloadSha256."""
    message = market.services.ledger.find(Message, Message.create_id(context_id))
    assert message is not None
    return recipient.sign(f"{context_id}|{message.payload_sha256}".encode())


async def parties(market: Market) -> tuple[Member, Member, Member]:
    return (
        await market.participant("MC", ["MC"]),
        await market.participant("LNSP", ["LNSP"]),
        await market.participant("LNSP", ["LNSP"]),
    )


async def delete(market: Market, recipient: Member, context_id: str, signature: str | None = None) -> None:
    """DELETE as the HTTP layer calls it, once the queue view shows what was delivered."""
    await market.caught_up()
    await market.services.mailbox.delete(recipient.participant_id, "pqd", "bpqd", context_id, signature)


async def stored_signature(market: Market, recipient: Member, context_id: str) -> str | None:
    ledger = market.services.ledger
    delivery = await asyncio.to_thread(ledger.find, Delivery, Delivery.create_id(context_id, recipient.participant_id))
    assert delivery is not None and not delivery.in_queue
    return delivery.recipient_signature


async def test_a_delete_signed_by_the_recipient_removes_it_and_the_sender_sees_the_signature(market: Market) -> None:
    sender, recipient, _ = await parties(market)
    context_id = await market.send(sender, recipient)
    signature = acknowledgement_of(market, recipient, context_id)

    await delete(market, recipient, context_id, signature)

    assert await market.queued(recipient) == []
    assert await stored_signature(market, recipient, context_id) == signature
    [acknowledged] = await market.services.read_side.acknowledgements(sender.participant_id, context_id)
    assert (acknowledged.recipient, acknowledged.signature) == (recipient.participant_id, signature)
    assert acknowledged.deleted_at == market.services.clock.now()


async def test_a_delete_signed_with_another_participants_certificate_is_refused_and_the_message_stays(
    market: Market,
) -> None:
    sender, recipient, other = await parties(market)
    context_id = await market.send(sender, recipient)

    with pytest.raises(SignatureRefusedError, match="not issued to"):
        await delete(market, recipient, context_id, acknowledgement_of(market, other, context_id))

    assert await market.queued(recipient) == [context_id]


@pytest.mark.parametrize(
    "signed",
    [
        pytest.param(lambda context_id, sha: f"{context_id}|{'0' * 64}", id="another payload hash"),
        pytest.param(lambda context_id, sha: sha, id="the payload hash alone"),
        pytest.param(lambda context_id, sha: f"{context_id}|{sha}\n", id="a trailing newline"),
    ],
)
async def test_a_recipient_signature_over_anything_but_the_id_and_payload_hash_is_refused(
    market: Market, signed: object
) -> None:
    sender, recipient, _ = await parties(market)
    context_id = await market.send(sender, recipient)
    message = market.services.ledger.find(Message, Message.create_id(context_id))
    assert message is not None and callable(signed)
    signature = recipient.sign(signed(context_id, message.payload_sha256).encode())

    with pytest.raises(SignatureRefusedError):
        await delete(market, recipient, context_id, signature)

    assert await market.queued(recipient) == [context_id]


async def test_a_signature_that_is_not_cms_is_refused_and_the_message_stays(market: Market) -> None:
    sender, recipient, _ = await parties(market)
    context_id = await market.send(sender, recipient)

    with pytest.raises(SignatureRefusedError):
        await delete(market, recipient, context_id, "RSA-SHA256;bm90")

    assert await market.queued(recipient) == [context_id]


async def test_a_signature_by_a_certificate_the_recipient_has_not_nominated_is_refused(market: Market) -> None:
    sender, recipient, _ = await parties(market)
    context_id = await market.send(sender, recipient)
    key, issued = await market.issue(recipient)
    unnominated = replace(recipient, key=key, certificate=certificate_of(issued))

    with pytest.raises(SignatureRefusedError, match="nominated"):
        await delete(market, recipient, context_id, acknowledgement_of(market, unnominated, context_id))

    assert await market.queued(recipient) == [context_id]


async def test_an_unsigned_delete_is_kept_as_an_acknowledgement_without_signature(market: Market) -> None:
    sender, recipient, _ = await parties(market)
    context_id = await market.send(sender, recipient)

    await delete(market, recipient, context_id)

    [acknowledged] = await market.services.read_side.acknowledgements(sender.participant_id, context_id)
    assert (acknowledged.recipient, acknowledged.signature) == (recipient.participant_id, None)


async def test_a_function_that_requires_signed_deletes_refuses_an_unsigned_one_and_keeps_the_message(
    make_services: BuildServices,
) -> None:
    market = Market(await make_services(registry=Registry([SignedDeletesRequired()])))
    sender, recipient, _ = await parties(market)
    context_id = await market.send(sender, recipient)

    with pytest.raises(InvalidError) as refused:
        await delete(market, recipient, context_id)

    assert [e.field for e in refused.value.errors] == ["x-signature"]
    assert await market.queued(recipient) == [context_id]
    signature = acknowledgement_of(market, recipient, context_id)
    await delete(market, recipient, context_id, signature)
    assert await market.queued(recipient) == []


async def test_a_message_not_in_the_callers_queue_is_not_found_before_its_signature_is_read(market: Market) -> None:
    sender, recipient, other = await parties(market)
    context_id = await market.send(sender, recipient)

    with pytest.raises(NotFoundError):
        await delete(market, other, context_id, "RSA-SHA256;bm90")


async def test_acknowledgements_list_each_recipients_delete_in_the_order_they_deleted(market: Market) -> None:
    sender, first, second = await parties(market)
    receipt = await market.submit(sender, market.body(sender, [first, second]))
    await market.deliver()
    context_id = receipt.message_context_id
    await delete(market, second, context_id)
    market.services.clock.advance(5)  # type: ignore[attr-defined]
    await delete(market, first, context_id, acknowledgement_of(market, first, context_id))

    listed = await market.services.read_side.acknowledgements(sender.participant_id, context_id)

    assert [(a.recipient, a.signature is None) for a in listed] == [
        (second.participant_id, True),
        (first.participant_id, False),
    ]


async def test_acknowledgements_are_the_senders_and_the_operators_and_not_found_for_anyone_else(
    market: Market,
) -> None:
    sender, recipient, other = await parties(market)
    operator = await market.participant("OP", ["OPERATOR"], enrol=False)
    context_id = await market.send(sender, recipient)
    await delete(market, recipient, context_id)

    assert len(await market.services.read_side.acknowledgements(operator.participant_id, context_id)) == 1
    for outsider in (recipient, other):
        with pytest.raises(NotFoundError):
            await market.services.read_side.acknowledgements(outsider.participant_id, context_id)
    with pytest.raises(NotFoundError):
        await market.services.read_side.acknowledgements(sender.participant_id, "pqd~bpqd~m~NOBODY~none")
