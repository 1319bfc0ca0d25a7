"""Reconciliation: the ids a participant sent or received in a range, paged, with one digest of the whole range."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

import pytest

from exchange.bootstrap import Services
from exchange.kernel.errors import MalformedError, ServiceError
from exchange.readmodels.projector import Projector
from tests.unit.services.conftest import Market, Member
from translog.projection import TranslogProjection
from translog.reconcile import ReconcileQuery, Reconciliation


def digest_of(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


async def reconciled(services: Services, query: ReconcileQuery) -> Reconciliation:
    """Reconcile once the transaction log shows every event recorded so far (`idx serve` follows it live)."""
    projector = Projector(services.ledger, services.views, TranslogProjection())
    await projector.prepare()
    await projector.catch_up()
    await projector.stop()
    return await services.read_side.reconcile(query)


async def refused(market: Market, sender: Member, recipient: Member) -> None:
    """A submission with a signature over other bytes, refused and logged as the HTTP layer does."""
    request = market.request(sender, market.body(sender, [recipient]), signature=sender.sign(b"other bytes"))
    submissions = market.services.submissions
    with pytest.raises(ServiceError) as problem:
        await asyncio.to_thread(submissions.prepare, sender.principal, request)
    await submissions.refuse(sender.principal, request, problem.value, 403)


async def test_sent_counts_each_accepted_message_once_and_digests_the_sorted_ids(market: Market) -> None:
    sender = await market.participant("MC", ["MC"])
    first, second = await market.participant("LNSP", ["LNSP"]), await market.participant("LNSP", ["LNSP"])
    to_both = (await market.submit(sender, market.body(sender, [first, second]))).message_context_id
    to_one = await market.send(sender, first)
    await refused(market, sender, first)

    found = await reconciled(market.services, ReconcileQuery(sender.participant_id, "sent"))

    assert found.count == 2
    assert list(found.page.items) == sorted([to_both, to_one])
    assert found.digest == digest_of([to_both, to_one])


async def test_received_holds_what_entered_the_callers_queue_and_not_others_or_rejections(market: Market) -> None:
    sender = await market.participant("MC", ["MC"])
    recipient, other = await market.participant("LNSP", ["LNSP"]), await market.participant("LNSP", ["LNSP"])
    mine = await market.send(sender, recipient)
    deleted = await market.send(sender, recipient)
    await market.caught_up()
    await market.delete(recipient, deleted)
    await market.send(sender, other)
    await refused(market, sender, recipient)

    found = await reconciled(market.services, ReconcileQuery(recipient.participant_id, "received"))

    assert list(found.page.items) == sorted([mine, deleted])
    assert found.digest == digest_of([mine, deleted])


async def test_a_message_not_yet_delivered_is_sent_but_not_yet_received(market: Market) -> None:
    sender, recipient = await market.participant("MC", ["MC"]), await market.participant("LNSP", ["LNSP"])
    waiting = (await market.submit(sender, market.body(sender, [recipient]))).message_context_id

    sent = await reconciled(market.services, ReconcileQuery(sender.participant_id, "sent"))
    received = await reconciled(market.services, ReconcileQuery(recipient.participant_id, "received"))

    assert (list(sent.page.items), received.count) == ([waiting], 0)


async def test_pages_follow_one_another_and_every_page_carries_the_digest_of_the_whole_range(market: Market) -> None:
    sender, recipient = await market.participant("MC", ["MC"]), await market.participant("LNSP", ["LNSP"])
    sent = [await market.send(sender, recipient) for _ in range(5)]
    pages, cursor = [], None
    while True:
        query = ReconcileQuery(sender.participant_id, "sent", item_count=2, cursor=cursor)
        page = await reconciled(market.services, query)
        pages.append(page)
        cursor = page.page.next_cursor
        if cursor is None:
            break

    assert [len(p.page.items) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in p.page.items] == sorted(sent)
    assert {p.digest for p in pages} == {digest_of(sent)}
    assert {p.count for p in pages} == {5}


async def test_the_range_bounds_acceptance_time_inclusively(market: Market) -> None:
    sender, recipient = await market.participant("MC", ["MC"]), await market.participant("LNSP", ["LNSP"])
    clock = market.services.clock
    early = await market.send(sender, recipient)
    start = clock.advance(60)  # type: ignore[attr-defined]
    inside = await market.send(sender, recipient)
    clock.advance(60)  # type: ignore[attr-defined]
    await market.send(sender, recipient)

    found = await reconciled(
        market.services, ReconcileQuery(sender.participant_id, "sent", start, start + timedelta(seconds=30))
    )

    assert list(found.page.items) == [inside]
    assert early not in found.page.items


async def test_an_empty_range_has_the_digest_of_nothing(market: Market) -> None:
    sender = await market.participant("MC", ["MC"])

    found = await reconciled(market.services, ReconcileQuery(sender.participant_id, "received"))

    assert (found.count, found.digest, list(found.page.items)) == (0, hashlib.sha256(b"").hexdigest(), [])


async def test_a_cursor_this_listing_did_not_hand_out_is_malformed(market: Market) -> None:
    sender = await market.participant("MC", ["MC"])

    with pytest.raises(MalformedError):
        await reconciled(market.services, ReconcileQuery(sender.participant_id, "sent", cursor="bm90LWEtY3Vyc29y"))
