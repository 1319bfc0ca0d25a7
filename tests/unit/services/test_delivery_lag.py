"""Admission on the delivery lag: a submission waits while delivery trails the log, and goes on after the wait
allowed if it stays behind; here the queue projector, which follows no log by itself, stands for the delivery path."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from exchange.eventstore.ledger import sqlite_persistence
from exchange.readmodels.views import open_views
from exchange.services.delivery_lag import DeliveryLag
from tests.unit.services.conftest import BuildServices, Market, Member

LIMIT = 0.05  # seconds: small, so that a backlog ages past it quickly
READINESS = 5.0  # seconds: the longest a test waits for a state it expects
WAIT = 0.1  # seconds: the wait allowed where a test waits it out
REFRESH = 0.01  # seconds: the lag is read again this often, so that a test sees a change soon


async def lag_over(market: Market, bound: float) -> float:
    """Wait until the measured delivery lag exceeds `bound` (the backlog ages in real time); the lag then."""
    deadline = time.monotonic() + READINESS
    while (lag := await market.services.pace.lag.current()) <= bound:
        assert time.monotonic() < deadline, f"the lag stayed at {lag} s"
        await asyncio.sleep(0.01)
    return lag


async def behind(market: Market) -> tuple[Member, Member]:
    """A sender and a recipient, with one message accepted and delivered that the queue has not shown yet, aged
    past the bound."""
    mc, lnsp = await market.mc_and_lnsp()
    await market.caught_up()  # the registrations are behind it: the backlog starts with the message
    await market.submit(mc, market.body(mc, [lnsp]))
    await market.deliver()
    await lag_over(market, LIMIT)
    return mc, lnsp


def waits(outcome: str) -> float:
    return REGISTRY.get_sample_value("idx_submission_lag_waits_total", {"outcome": outcome}) or 0.0


async def test_a_submission_waits_while_delivery_is_behind_and_passes_once_it_catches_up(
    make_services: BuildServices,
) -> None:
    """Over the bound the submission waits uncommitted; when the delivery path reaches the log it is recorded."""
    market = Market(await make_services(delivery_lag_limit=LIMIT, delivery_lag_refresh=REFRESH, delivery_lag_wait=30.0))
    mc, lnsp = await behind(market)
    passed_before = waits("passed")

    submitting = asyncio.create_task(market.submit(mc, market.body(mc, [lnsp])))
    deadline = time.monotonic() + READINESS
    while market.services.pace.waiting == 0:
        assert time.monotonic() < deadline and not submitting.done()
        await asyncio.sleep(0.01)
    assert await market.messages() == 1  # waiting, not committed

    await market.caught_up()
    receipt = await asyncio.wait_for(submitting, READINESS)

    assert receipt.message_context_id.startswith(f"pqd~bpqd~m~{mc.participant_id}~")
    assert await market.messages() == 2
    assert waits("passed") == passed_before + 1


async def test_a_submission_the_delivery_path_does_not_catch_up_with_goes_on_after_the_wait(
    make_services: BuildServices,
) -> None:
    """Past the wait allowed it is committed regardless (a path that stands still must not stop acceptance): the
    wait is counted as waited out, and it took the wait, not less."""
    market = Market(await make_services(delivery_lag_limit=LIMIT, delivery_lag_refresh=REFRESH, delivery_lag_wait=WAIT))
    mc, lnsp = await behind(market)
    waited_out_before = waits("waited_out")

    started = time.monotonic()
    receipt = await asyncio.wait_for(market.submit(mc, market.body(mc, [lnsp])), READINESS)

    assert time.monotonic() - started >= WAIT
    assert receipt.message_context_id.startswith(f"pqd~bpqd~m~{mc.participant_id}~")
    assert await market.messages() == 2
    assert waits("waited_out") == waited_out_before + 1
    assert market.services.pace.waiting == 0


async def test_with_the_limit_at_zero_nothing_waits_however_far_delivery_trails(
    make_services: BuildServices,
) -> None:
    """0 turns admission off: a lag far over any bound holds no submission back."""
    market = Market(await make_services(delivery_lag_limit=0.0, delivery_lag_refresh=REFRESH))
    mc, lnsp = await behind(market)

    await asyncio.wait_for(market.submit(mc, market.body(mc, [lnsp])), READINESS)

    assert market.services.pace.waiting == 0
    assert await market.messages() == 2


class Positions:
    """Stages whose positions and clock a test sets."""

    def __init__(self) -> None:
        self.now = 100.0
        self.log = (0, 0)
        self.routes = (0, 0)

    async def log_stage(self) -> tuple[int, int]:
        return self.log

    async def routes_stage(self) -> tuple[int, int]:
        return self.routes


async def test_the_lag_is_the_age_of_the_oldest_unfinished_work_summed_over_the_stages() -> None:
    """Work counts from the reading that first saw it; passed work counts no more; the stages add up."""
    at = Positions()
    lag = DeliveryLag([at.log_stage, at.routes_stage], refresh=0.0, now=lambda: at.now)
    assert await lag.current() == 0.0

    at.log = (10, 4)  # six events the log stage has not passed, first seen now
    assert await lag.current() == 0.0
    at.now += 0.3
    at.log = (20, 4)
    assert await lag.current() == pytest.approx(0.3)
    at.log = (20, 12)  # past what the first reading saw: the oldest left was seen 0.3 s later
    assert await lag.current() == pytest.approx(0.0)
    at.now += 0.5
    at.routes = (7, 2)
    assert await lag.current() == pytest.approx(0.5)
    at.now += 0.2
    assert await lag.current() == pytest.approx(0.7 + 0.2)  # both stages still behind: 0.7 s and 0.2 s
    at.log, at.routes = (25, 25), (7, 7)
    assert await lag.current() == 0.0


async def test_a_reading_is_reused_until_it_is_older_than_the_refresh() -> None:
    """However many requests ask within one refresh, the stages are read once."""
    reads = 0

    async def stage() -> tuple[int, int]:
        nonlocal reads
        reads += 1
        return 5, 0

    now = [0.0]
    lag = DeliveryLag([stage], refresh=0.1, now=lambda: now[0])
    await asyncio.gather(*(lag.current() for _ in range(20)))
    now[0] += 0.05
    await lag.current()
    assert reads == 1
    now[0] += 0.06
    assert await lag.current() == pytest.approx(0.11)
    assert reads == 2


async def test_a_stage_that_cannot_be_read_counts_as_not_having_moved() -> None:
    """An unanswered stage keeps its backlog's age growing rather than hiding it."""
    at = Positions()
    failing = False

    async def stage() -> tuple[int, int]:
        if failing:
            raise TimeoutError("no answer")
        return at.log

    lag = DeliveryLag([stage], refresh=0.0, now=lambda: at.now)
    at.log = (3, 1)
    await lag.current()
    failing = True
    at.now += 1.5
    assert await lag.current() == pytest.approx(1.5)


async def test_the_lag_is_read_from_what_the_processes_share(make_services: BuildServices, tmp_path: Path) -> None:
    """A process that runs no follower waits on the positions another process records: its submission passes once
    that process's queue projector catches up (two `build_services` on one event store and one views file)."""
    views = [await open_views(tmp_path / "views.sqlite") for _ in range(2)]
    try:
        runs_followers, serves = [
            await make_services(
                persistence=sqlite_persistence(tmp_path / "events.sqlite"),
                views=connection,
                delivery_lag_limit=LIMIT,
                delivery_lag_refresh=REFRESH,
                delivery_lag_wait=30.0,
            )
            for connection in views
        ]
        follower, server = Market(runs_followers), Market(serves)
        mc, lnsp = await follower.mc_and_lnsp()
        await follower.caught_up()
        await server.submit(mc, server.body(mc, [lnsp]))
        await follower.deliver()
        await lag_over(server, LIMIT)

        submitting = asyncio.create_task(server.submit(mc, server.body(mc, [lnsp])))
        deadline = time.monotonic() + READINESS
        while serves.pace.waiting == 0:
            assert time.monotonic() < deadline and not submitting.done()
            await asyncio.sleep(0.01)
        await follower.caught_up()

        await asyncio.wait_for(submitting, READINESS)
        assert await server.messages() == 2
    finally:
        for connection in views:
            await connection.close()
