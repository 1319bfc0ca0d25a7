"""The schedule queries in-process: the latest run wins per interval, and a provider sees its own DUIDs only."""

from __future__ import annotations

from typing import Any

import pytest

from exchange.functions.errors import MalformedBodyError, NothingFoundError, RuleViolationError
from exchange.functions.services import Call, Operation
from exchange.functions.ssm import plugin
from exchange.functions.ssm.sample import duid_body, region_body
from tests.conformance.fakes import FakeServices, two_generators
from tests.unit.ssm.test_rolls import submit

EARLY, LATE = "2026-10-28T04:00:00+10:00", "2026-10-28T04:10:00+10:00"


@pytest.fixture
def services() -> FakeServices:
    return FakeServices(two_generators(500.0))


def operation(services: FakeServices, path: str) -> Operation:
    [found] = [op for op in plugin.operations(services) if op.path == path]
    return found


async def publish(services: FakeServices, resource: str, body: bytes) -> None:
    """Accept a roll as the core does, and commit what the acceptance records."""
    await services.save(*submit(resource, body, services.fake_standing).records)


async def query(services: FakeServices, path: str, caller: str, roles: set[str], **params: str) -> Any:
    answer = await operation(services, path).handler(Call(caller, frozenset(roles), b"", params))
    return answer.body["data"]


async def test_the_latest_run_wins_per_interval(services: FakeServices) -> None:
    """Run 04:00 covers 04:00-04:55; run 04:10 covers 04:10-05:05: the later run's rows replace the overlap."""
    await publish(services, "duid", duid_body("OPERATOR", ["GEN1"], ["DUID1"], run=EARLY, seed=1))
    await publish(services, "duid", duid_body("OPERATOR", ["GEN1"], ["DUID1"], run=LATE, seed=2))
    rows = await query(services, "/ssm/v1/schedules/duid", "GEN1", {"GENERATOR"}, duid="DUID1")
    assert [row["intervalDateTime"][11:16] for row in rows] == [f"04:{m:02d}" for m in range(0, 60, 5)] + [
        "05:00",
        "05:05",
    ]
    assert [row["runDateTime"] for row in rows] == [EARLY, EARLY] + [LATE] * 12
    window = await query(
        services, "/ssm/v1/schedules/duid", "GEN1", {"GENERATOR"}, duid="DUID1",
        fromDateTime="2026-10-28T04:05:00+10:00", toDateTime="2026-10-27T18:15:00+00:00",
    )  # fmt: skip
    assert [row["intervalDateTime"][11:16] for row in window] == ["04:05", "04:10", "04:15"]


async def test_another_generators_duid_is_not_found(services: FakeServices) -> None:
    """GEN2 asking for GEN1's DUID gets the same 404 as for a DUID that does not exist; the operator sees it."""
    await publish(services, "duid", duid_body("OPERATOR", ["GEN1"], ["DUID1"], run=EARLY))
    for duid in ("DUID1", "NOSUCH"):
        with pytest.raises(NothingFoundError):
            await query(services, "/ssm/v1/schedules/duid", "GEN2", {"GENERATOR"}, duid=duid)
    assert len(await query(services, "/ssm/v1/schedules/duid", "OPERATOR", {"OPERATOR"}, duid="DUID1")) == 12


async def test_region_schedules_are_everyones_and_filter_by_region(services: FakeServices) -> None:
    await publish(services, "region", region_body("OPERATOR", ["*"], run=EARLY, intervals=2))
    await publish(services, "region", region_body("OPERATOR", ["*"], run=LATE, intervals=1, regions=["SA1"]))
    every = await query(services, "/ssm/v1/schedules/region", "GEN2", {"GENERATOR"})
    assert len(every) == 11  # five regions of two intervals, and SA1's 04:10 from the later run
    sa1 = await query(services, "/ssm/v1/schedules/region", "GEN2", {"GENERATOR"}, regionId="SA1")
    assert [(row["intervalDateTime"][11:16], row["runDateTime"]) for row in sa1] == [
        ("04:00", EARLY), ("04:05", EARLY), ("04:10", LATE),
    ]  # fmt: skip


async def test_bad_filters_are_refused(services: FakeServices) -> None:
    """A region outside the NEM's five is 422 naming regionId; a time without offset or no DUID is 400."""
    with pytest.raises(RuleViolationError):
        await query(services, "/ssm/v1/schedules/region", "GEN1", {"GENERATOR"}, regionId="WA1")
    with pytest.raises(MalformedBodyError):
        await query(services, "/ssm/v1/schedules/region", "GEN1", {"GENERATOR"}, fromDateTime="2026-10-28T04:00")
    with pytest.raises(MalformedBodyError):
        await query(services, "/ssm/v1/schedules/duid", "GEN1", {"GENERATOR"})
