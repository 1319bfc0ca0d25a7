"""What a submission records and answers: the message as sent, the hub's signatures, the refusals, the log line."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import msgspec
import pytest
import structlog

from certs.signature import parse_signature_header, verify_detached
from exchange.domain.markettime import market_day
from exchange.domain.messages import Message
from exchange.domain.rejections import Rejection
from exchange.domain.topics import topic_of
from exchange.kernel.clock import iso
from exchange.kernel.errors import (
    ConflictError,
    FieldError,
    InvalidError,
    LimitExceededError,
    MalformedError,
)
from exchange.services.submit import Receipt
from tests.unit.services.conftest import BuildServices, Market, SettableClock

REJECTED = topic_of(Rejection, "Recorded")


def signed_by_the_hub(market: Market, signature: str, content: bytes) -> bool:
    signer = verify_detached(parse_signature_header(signature), content)
    return signer == market.services.authority.hub_certificate


async def rejections(market: Market) -> list[Rejection]:
    ledger = market.services.ledger
    found = await asyncio.to_thread(ledger.notifications, 0, 10_000, (REJECTED,))
    stored = [ledger.find(Rejection, n.originator_id) for n in found]
    assert all(r is not None for r in stored)
    return [r for r in stored if r is not None]


async def test_a_recorded_message_keeps_what_was_sent_and_carries_the_hubs_receipt(
    market: Market, clock: SettableClock
) -> None:
    """Every field of the stored message comes from the request; the receipt and hub signature verify."""
    mc, lnsp = await market.mc_and_lnsp()
    body = market.body(mc, [lnsp], priority="High")
    request = market.request(mc, body, priority="High")

    prepared = await asyncio.to_thread(market.services.submissions.prepare, mc.principal, request)
    assert isinstance(prepared, Message)
    receipt = await market.services.submissions.record(prepared)

    stored = market.services.ledger.find(Message, Message.create_id(request.message_context_id or ""))
    assert stored is not None
    header = msgspec.json.decode(body)["data"]["header"]
    sha256 = stored.payload_sha256
    assert (stored.message_context_id, stored.business_function_id, stored.resource_id) == (
        request.message_context_id,
        "pqd",
        "bpqd",
    )
    assert (stored.sender_id, stored.priority, stored.recipients) == (mc.participant_id, "High", [lnsp.participant_id])
    assert (stored.message_id, stored.schema_version) == (header["messageId"], "1.0")
    assert stored.message_type == "BasicPowerQualityData"
    assert (stored.payload, stored.signature, stored.signer_serial) == (body, request.signature, mc.serial)
    assert stored.received_at == clock.now()
    receipted = f"{stored.message_context_id}|{sha256}|{iso(clock.now())}"
    assert signed_by_the_hub(market, stored.receipt, receipted.encode())
    assert signed_by_the_hub(market, stored.hub_signature, body)
    assert receipt == Receipt(stored.message_context_id, iso(clock.now()), sha256, stored.receipt)


async def test_a_resubmission_with_another_payload_is_a_conflict_naming_the_context_id(market: Market) -> None:
    mc, lnsp = await market.mc_and_lnsp()
    context_id = f"pqd~bpqd~m~{mc.participant_id}~twice"
    await market.submit(mc, market.body(mc, [lnsp]), context_id=context_id)

    with pytest.raises(ConflictError) as conflict:
        await market.submit(mc, market.body(mc, [lnsp]), context_id=context_id)

    assert conflict.value.detail == f"{context_id} was already submitted with a different payload"


async def test_a_body_that_is_not_json_is_malformed_and_a_broken_rule_invalid_with_a_sentence(market: Market) -> None:
    mc, lnsp = await market.mc_and_lnsp()
    with pytest.raises(MalformedError) as malformed:
        await market.submit(mc, b"{not json")
    with pytest.raises(InvalidError) as invalid:
        await market.submit(mc, market.body(mc, [lnsp], interval_length=7))

    assert malformed.value.detail.startswith("the body is not a JSON document: ")
    assert invalid.value.detail == "the message breaks the rules of its business function"
    assert invalid.value.errors


async def test_a_message_to_a_suspended_participant_names_it_in_the_detail(market: Market) -> None:
    mc, lnsp = await market.mc_and_lnsp()
    other = await market.participant("LNSP", ["LNSP"], enrol=False)
    for suspended in (lnsp, other):
        await market.services.admin.set_status(suspended.participant_id, "Suspended", "")

    with pytest.raises(InvalidError) as refused:
        await market.submit(mc, market.body(mc, [lnsp, other]))

    assert refused.value.detail == f"a recipient is suspended: {lnsp.participant_id}, {other.participant_id}"


async def test_the_quota_refusal_names_the_sender_the_quota_and_the_priority(make_services: BuildServices) -> None:
    market = Market(await make_services(daily_quota=(0, 0, 1)))
    mc, lnsp = await market.mc_and_lnsp()
    await market.submit(mc, market.body(mc, [lnsp], priority="Low"), priority="Low")

    with pytest.raises(LimitExceededError) as refused:
        await market.submit(mc, market.body(mc, [lnsp], priority="Low"), priority="Low")

    assert refused.value.detail == f"{mc.participant_id} has sent its 1 Low priority messages for today"


async def test_a_commit_that_fails_gives_the_quota_back(make_services: BuildServices, clock: SettableClock) -> None:
    """When the store cannot commit (here: its committer has stopped), the message does not use up the quota."""
    market = Market(await make_services(daily_quota=(0, 0, 1)))
    mc, lnsp = await market.mc_and_lnsp()
    submissions = market.services.submissions
    request = market.request(mc, market.body(mc, [lnsp], priority="Low"), priority="Low")
    prepared = await asyncio.to_thread(submissions.prepare, mc.principal, request)
    assert isinstance(prepared, Message)
    await market.services.committer.stop()

    with pytest.raises(RuntimeError, match="not running"):
        await submissions.record(prepared)

    day = market_day(prepared.received_at)
    assert await market.services.limits.take_quota(mc.participant_id, "Low", day, {"Low": 1}, now=clock.now()) is None


async def test_without_a_limits_store_no_quota_is_counted(market: Market) -> None:
    """A use case wired without limits (as tools may) accepts past the quota and survives a lost race."""
    woken: list[None] = []
    submissions = market.submissions(
        on_recorded=lambda: woken.append(None),
        daily_quota=(1, 1, 1),
    )
    mc, lnsp = await market.mc_and_lnsp()
    request = market.request(mc, market.body(mc, [lnsp]))
    first, second = [await asyncio.to_thread(submissions.prepare, mc.principal, request) for _ in range(2)]
    assert isinstance(first, Message) and isinstance(second, Message)

    receipt = await submissions.record(first)
    assert await submissions.record(second) == receipt
    third = await asyncio.to_thread(submissions.prepare, mc.principal, market.request(mc, market.body(mc, [lnsp])))
    assert isinstance(third, Message)
    await submissions.record(third)

    assert await market.messages() == 2
    assert len(woken) == 2  # the log's followers are woken once per commit, not for the lost race


async def test_an_accepted_message_is_logged_with_its_recipients_and_size(market: Market) -> None:
    mc, lnsp = await market.mc_and_lnsp()
    body = market.body(mc, [lnsp])
    with structlog.testing.capture_logs() as logs:
        await market.submit(mc, body)

    accepted = [entry for entry in logs if entry["event"] == "message_accepted"]
    assert accepted == [
        {"event": "message_accepted", "log_level": "info", "recipients": [lnsp.participant_id], "size": len(body)}
    ]


async def test_a_refused_submission_is_recorded_with_what_could_be_read_of_it(
    market: Market, clock: SettableClock
) -> None:
    """The transaction log's rejection: ids, sender, priority, named recipients, status, reason with fields, size."""
    mc, lnsp = await market.mc_and_lnsp()
    body = market.body(mc, [lnsp], priority="Low", interval_length=7)
    request = market.request(mc, body, priority="Low")
    with pytest.raises(InvalidError) as invalid:
        await market.submit(mc, body, priority="Low", context_id=request.message_context_id)

    await market.services.submissions.refuse(mc.principal, request, invalid.value, 422)

    [rejection] = await rejections(market)
    fields = "".join(f"; {e.field}: {e.message}" for e in invalid.value.errors)
    assert (rejection.message_context_id, rejection.business_function_id, rejection.resource_id) == (
        request.message_context_id,
        "pqd",
        "bpqd",
    )
    assert (rejection.sender_id, rejection.priority, rejection.recipients) == (
        mc.participant_id,
        "Low",
        [lnsp.participant_id],
    )
    assert (rejection.status, rejection.reason) == (422, invalid.value.detail + fields)
    assert (rejection.size, rejection.rejected_at) == (len(body), clock.now())


async def test_a_refusal_keeps_at_most_120_characters_of_id_100_recipients_and_10_field_errors(market: Market) -> None:
    """An unreadable context id has no priority; the text fields are cut so a hostile request cannot bloat the log."""
    mc = await market.participant("MC", ["MC"], enrol=False)
    named = [f"LNSP{n}" for n in range(150)]
    body = msgspec.json.encode({"data": {"header": {"receivingParticipantId": named}}})
    request = replace(market.request(mc, body, signature="x"), message_context_id="x" * 200)
    problem = InvalidError("broken", errors=[FieldError(f"f{n}", f"m{n}") for n in range(12)])

    await market.services.submissions.refuse(mc.principal, request, problem, 400)

    [rejection] = await rejections(market)
    assert rejection.message_context_id == "x" * 120
    assert rejection.priority is None
    assert rejection.recipients == named[:100]
    assert rejection.reason == "broken" + "".join(f"; f{n}: m{n}" for n in range(10))


async def test_a_refusal_without_a_context_id_or_readable_body_is_still_recorded(market: Market) -> None:
    mc = await market.participant("MC", ["MC"], enrol=False)
    request = replace(market.request(mc, b"\xff not json", signature="x"), message_context_id=None)

    await market.services.submissions.refuse(mc.principal, request, MalformedError("unreadable"), 400)

    [rejection] = await rejections(market)
    assert (rejection.message_context_id, rejection.priority, rejection.recipients) == (None, None, [])
    assert rejection.reason == "unreadable"


async def test_a_conflict_is_not_recorded_as_a_refusal(market: Market) -> None:
    """A resubmission with another payload is not a new transaction."""
    mc = await market.participant("MC", ["MC"], enrol=False)
    request = market.request(mc, b"{}", signature="x")

    await market.services.submissions.refuse(mc.principal, request, ConflictError("again"), 409)

    assert await rejections(market) == []


async def test_a_use_case_wired_without_quota_or_limits_accepts_every_message(market: Market) -> None:
    submissions = market.submissions()
    mc, lnsp = await market.mc_and_lnsp()
    for _ in range(2):
        prepared = await asyncio.to_thread(
            submissions.prepare, mc.principal, market.request(mc, market.body(mc, [lnsp]))
        )
        assert isinstance(prepared, Message)
        await submissions.record(prepared)

    assert await market.messages() == 2
