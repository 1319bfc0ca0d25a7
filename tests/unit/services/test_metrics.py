"""The Prometheus series move where things happen: submissions by outcome, delivery lag, queue depth, positions."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY

from exchange.kernel.errors import ServiceError
from exchange.services.metrics import KEPT_SAMPLES, SAMPLE_SECONDS, MetricsSampler
from exchange.services.submit import Receipt, SubmissionRequest
from tests.unit.services.conftest import Market, Member, SettableClock


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def submitted(outcome: str) -> float:
    return value("idx_submissions_total", business_function="pqd", outcome=outcome)


async def attempt(market: Market, sender: Member, request: SubmissionRequest) -> None:
    """Submit as the route does: prepare and record, or record the refusal; then say the answer is ready."""
    submissions = market.services.submissions
    try:
        prepared = await asyncio.to_thread(submissions.prepare, sender.principal, request)
        if not isinstance(prepared, Receipt):
            await submissions.record(prepared)
    except ServiceError as problem:
        await submissions.refuse(sender.principal, request, problem, 400)
    finally:
        submissions.finished(request)


async def test_an_accepted_submission_is_counted_and_timed(market: Market) -> None:
    mc, lnsp = await market.participant("MC", ["MC"]), await market.participant("LNSP", ["LNSP"])
    accepted, timed = submitted("accepted"), value("idx_submission_seconds_count", business_function="pqd")

    await attempt(market, mc, market.request(mc, market.body(mc, [lnsp])))

    assert submitted("accepted") == accepted + 1
    assert value("idx_submission_seconds_count", business_function="pqd") == timed + 1


async def test_a_resubmission_counts_as_resubmitted_not_as_accepted_again(market: Market) -> None:
    mc, lnsp = await market.participant("MC", ["MC"]), await market.participant("LNSP", ["LNSP"])
    request = market.request(mc, market.body(mc, [lnsp]))
    await attempt(market, mc, request)
    accepted, resubmitted = submitted("accepted"), submitted("resubmitted")

    await attempt(market, mc, request)

    assert (submitted("accepted"), submitted("resubmitted")) == (accepted, resubmitted + 1)


@pytest.mark.parametrize(
    ("spoil", "outcome"),
    [
        ({"signature": "RSA-SHA256;AAAA"}, "signature_refused"),
        ({"context_id": "not-a-context-id"}, "malformed"),
    ],
    ids=["bad signature", "malformed context id"],
)
async def test_a_refused_submission_is_counted_by_the_kind_of_refusal(
    market: Market, spoil: dict[str, str], outcome: str
) -> None:
    mc, lnsp = await market.participant("MC", ["MC"]), await market.participant("LNSP", ["LNSP"])
    before, accepted = submitted(outcome), submitted("accepted")

    await attempt(market, mc, market.request(mc, market.body(mc, [lnsp]), **spoil))

    assert submitted(outcome) == before + 1
    assert submitted("accepted") == accepted


async def test_a_rule_violation_counts_as_invalid(market: Market) -> None:
    mc, lnsp = await market.participant("MC", ["MC"]), await market.participant("LNSP", ["LNSP"])
    before = submitted("invalid")
    body = market.body(mc, [lnsp]).replace(b'"Medium"', b'"Urgent"')

    await attempt(market, mc, market.request(mc, body))

    assert submitted("invalid") == before + 1


async def test_the_delivery_lag_is_the_time_from_acceptance_to_queueing(market: Market, clock: SettableClock) -> None:
    mc, lnsp = await market.participant("MC", ["MC"]), await market.participant("LNSP", ["LNSP"])
    count, total = value("idx_delivery_lag_seconds_count"), value("idx_delivery_lag_seconds_sum")
    await market.submit(mc, market.body(mc, [lnsp]))
    clock.advance(42)

    await market.deliver()

    assert value("idx_delivery_lag_seconds_count") == count + 1
    assert value("idx_delivery_lag_seconds_sum") - total == pytest.approx(42)


async def test_a_scrape_reads_queue_depths_and_shows_an_emptied_queue_as_zero(market: Market) -> None:
    mc, lnsp = await market.participant("MC", ["MC"]), await market.participant("LNSP", ["LNSP"])
    first = await market.send(mc, lnsp)
    second = await market.send(mc, lnsp)
    await market.caught_up()
    sampler = market.services.metrics

    await sampler.sample()
    assert value("idx_queue_depth", participant=lnsp.participant_id, business_function="pqd") == 2

    await market.delete(lnsp, first)
    await market.caught_up()
    await sampler.sample()
    assert value("idx_queue_depth", participant=lnsp.participant_id, business_function="pqd") == 1

    await market.delete(lnsp, second)
    await market.caught_up()
    await sampler.sample()
    # Still exposed, at 0: a queue that vanished from the series would look like a scrape gap, not a drained queue.
    assert (
        REGISTRY.get_sample_value("idx_queue_depth", {"participant": lnsp.participant_id, "business_function": "pqd"})
        == 0
    )


async def test_a_scrape_reads_the_store_and_follower_positions(market: Market) -> None:
    mc, lnsp = await market.participant("MC", ["MC"]), await market.participant("LNSP", ["LNSP"])
    await market.send(mc, lnsp)
    await market.caught_up()

    await market.services.metrics.sample()

    last = await asyncio.to_thread(market.services.ledger.last_position)
    assert value("idx_event_store_position") == last > 0
    assert value("idx_follower_position", follower="queue") == market.services.queue.position == last


async def test_a_scrape_shows_the_recorded_position_of_a_follower_another_process_runs(market: Market) -> None:
    """A follower this process does not run stands still in its memory: the position shown is the recorded one."""
    mc, lnsp = await market.participant("MC", ["MC"]), await market.participant("LNSP", ["LNSP"])
    await market.send(mc, lnsp)
    await market.caught_up()
    queue = market.services.queue
    recorded, queue.position = queue.position, 0  # as in a process that never ran it

    await market.services.metrics.sample()

    assert value("idx_follower_position", follower="queue") == recorded > 0


async def test_a_scrape_says_which_leases_this_process_holds(market: Market) -> None:
    """`idx_lease_held` is 1 for the followers this process runs and 0 for those another process runs."""
    market.services.metrics.leases = lambda: {"queue": True, "deliverer": False}

    await market.services.metrics.sample()

    assert value("idx_lease_held", follower="queue") == 1
    assert value("idx_lease_held", follower="deliverer") == 0
    assert REGISTRY.get_sample_value("idx_lease_held", {"follower": "deliverer"}) is not None


async def test_the_sampler_keeps_samples_whose_differences_are_what_happened_between_them(
    market: Market, clock: SettableClock
) -> None:
    """Recorded before and after a message: one more accepted, one more delivery 5 s late, the queue one deeper."""
    mc, lnsp = await market.participant("MC", ["MC"]), await market.participant("LNSP", ["LNSP"])
    sampler = market.services.metrics
    before = await sampler.record()
    await market.submit(mc, market.body(mc, [lnsp]))
    clock.advance(5)
    await market.deliver()
    await market.caught_up()
    after = await sampler.record()

    assert sampler.kept()[-2:] == [before, after]
    assert after.at - before.at == timedelta(seconds=5)
    assert after.accepted["pqd"] - before.accepted.get("pqd", 0.0) == 1
    assert after.deliveries - before.deliveries == 1
    assert after.delivery_seconds - before.delivery_seconds == pytest.approx(5)
    assert after.depths[(lnsp.participant_id, "pqd")] == before.depths.get((lnsp.participant_id, "pqd"), 0) + 1


def test_the_sampler_keeps_six_hours_of_samples_taken_every_ten_seconds() -> None:
    assert KEPT_SAMPLES == 6 * 3600 / SAMPLE_SECONDS == 2160


async def test_the_sampler_keeps_the_last_samples_only(market: Market) -> None:
    """The ring holds its number of samples: the oldest goes as the next comes."""
    services = market.services
    sampler = MetricsSampler(services.ledger, services.views, services.followers, services.clock, kept_samples=3)
    taken = [await sampler.record() for _ in range(5)]
    assert sampler.kept() == taken[-3:]
