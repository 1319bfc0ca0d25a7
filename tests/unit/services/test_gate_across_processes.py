"""With several processes, the holder of the deliverer's lease makes every gate decision: the others ask it to
recount, and taking the lease recounts every queue, so a request sent while nobody held it is not lost."""

from __future__ import annotations

import os

import pytest

from exchange.bootstrap import Services
from exchange.services.health import Health, ProcessInfo
from tests.unit.services.conftest import Market, Member


class OtherProcess:
    """This process does not hold the deliverer's lease: it records the recounts it asks of the holder."""

    def __init__(self, services: Services) -> None:
        self.asked: list[tuple[str, str]] = []
        self.holds = False
        services.gate.leased = lambda: self.holds
        services.gate.forward = self.ask

    async def ask(self, participant_id: str, business_function_id: str) -> None:
        self.asked.append((participant_id, business_function_id))


@pytest.fixture
def other(services: Services) -> OtherProcess:
    return OtherProcess(services)


async def held_behind_a_full_queue(market: Market) -> tuple[Member, list[str], str]:
    """Watermarks 1/2/3 and four messages: three queued, the fourth held."""
    mc = await market.participant("MC", ["MC"])
    lnsp = await market.participant("LNSP", ["LNSP"], enrol=False)
    await market.services.flow.set_watermarks(lnsp.participant_id, "pqd", 1, 2, 3)
    queued = [await market.send(mc, lnsp) for _ in range(3)]
    return lnsp, queued, await market.send(mc, lnsp)


async def test_a_delete_in_a_process_without_the_deliverer_asks_the_holder_to_recount(
    market: Market, services: Services, other: OtherProcess
) -> None:
    """The removal is recorded, nothing is released here, and the holder is asked; its recount releases."""
    other.holds = True  # the watermarks and sends are decided by the holder
    lnsp, queued, held = await held_behind_a_full_queue(market)
    other.holds = False
    for context_id in queued:
        await market.delete(lnsp, context_id)

    assert await market.pending(lnsp) == 1
    assert other.asked == [(lnsp.participant_id, "pqd")] * 3

    other.holds = True  # the holder hears the request
    await services.gate.settle(lnsp.participant_id, "pqd")
    assert await market.queued(lnsp) == [held]


async def test_taking_the_deliverers_lease_recounts_every_queue(
    market: Market, services: Services, other: OtherProcess
) -> None:
    """A recount asked for while no process held the lease is made by the next holder when it takes it."""
    other.holds = True
    lnsp, queued, held = await held_behind_a_full_queue(market)
    other.holds = False
    for context_id in queued:
        await market.delete(lnsp, context_id)  # the requests reach no holder
    assert await market.pending(lnsp) == 1

    other.holds = True
    await services.gate.settle_all()

    assert await market.queued(lnsp) == [held]
    assert await market.pending(lnsp) == 0


async def test_a_manual_start_in_a_process_without_the_deliverer_also_asks_the_holder_to_recount(
    market: Market, services: Services, other: OtherProcess
) -> None:
    """The switch is recorded where it was asked for; the holder is asked to recount what it held meanwhile."""
    other.holds = True
    lnsp = await market.participant("LNSP", ["LNSP"], enrol=False)
    await services.flow.switch(lnsp.participant_id, "pqd", "Stopped")
    other.holds = False

    await services.flow.switch(lnsp.participant_id, "pqd", "Started")

    state, _ = await services.gate.state(lnsp.participant_id, "pqd")
    assert not state.manual_stop
    assert other.asked == [(lnsp.participant_id, "pqd")]


async def test_health_names_this_process_and_the_leases_it_holds(services: Services) -> None:
    """The process part of /healthz: this pid and the held leases, sorted."""
    health = Health(services.ledger, lambda: True, (), leases=lambda: ["relay", "deliverer"])
    assert health.process() == ProcessInfo(os.getpid(), ["deliverer", "relay"])
