"""Administration's inputs and lists: every string and number in range, and the participant list paged."""

from __future__ import annotations

import math

import pytest

from exchange.kernel.errors import InvalidError, MalformedError
from tests.unit.services.conftest import Market, Member, use_case_fixture


async def test_the_participant_list_pages_in_registration_order_until_the_cursor_runs_out(market: Market) -> None:
    """Pages of two hand out every participant once, in registration order, with the total on each page."""
    for _ in range(5):
        await market.participant("MC", ["MC"], enrol=False)
    expected = [p.participant_id for p in await market.services.admin.participants()]

    seen: list[str] = []
    cursor = None
    while True:
        page = await market.services.admin.participant_page(2, cursor)
        assert len(page.items) <= 2 and page.total_records == len(expected)
        seen += [p.participant_id for p in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert seen == expected and len(seen) >= 5


async def test_a_participant_cursor_the_exchange_did_not_hand_out_is_malformed(market: Market) -> None:
    """A forged cursor is a 400, not a database error."""
    with pytest.raises(MalformedError):
        await market.services.admin.participant_page(2, "bm90LWEtY3Vyc29y")


async def test_a_participant_name_may_be_200_characters_and_no_more(market: Market) -> None:
    """200 characters are a name; 201 or 2 MB are a 422 naming `name`, and nothing is registered."""
    admin = market.services.admin
    await admin.register_participant("LONG1", "N" * 200, ["MC"])
    for name in ("N" * 201, "N" * 2_000_000):
        with pytest.raises(InvalidError) as refused:
            await admin.register_participant("LONG2", name, ["MC"])
        assert [error.field for error in refused.value.errors] == ["name"]
    assert [p.participant_id for p in await admin.participants()] == ["LONG1"]


@pytest.mark.parametrize("participant_id", ["MC1\n", "A" * 11, ""])
async def test_a_participant_id_outside_its_pattern_is_refused(market: Market, participant_id: str) -> None:
    """Ids are 1 to 10 capitals or digits; a trailing newline does not slip through `$`."""
    with pytest.raises(InvalidError) as refused:
        await market.services.admin.register_participant(participant_id, "Name", ["MC"])
    assert [error.field for error in refused.value.errors] == ["participantId"]


@use_case_fixture
async def generator(market: Market) -> Member:
    return await market.participant("GEN", ["GENERATOR"], enrol=False)


@pytest.mark.parametrize(
    ("duid", "station", "capacity", "field"),
    [
        ("DUID1", "STATION1", 1e23, "maxCapacityMW"),
        ("DUID1", "STATION1", math.inf, "maxCapacityMW"),
        ("DUID1", "STATION1", math.nan, "maxCapacityMW"),
        ("DUID1", "S" * 21, 100.0, "stationId"),
        ("DUID1\n", "STATION1", 100.0, "duid"),
    ],
    ids=["capacity-1e23", "capacity-infinite", "capacity-nan", "station-21", "duid-trailing-newline"],
)
async def test_a_duid_out_of_range_is_refused_naming_the_field(
    market: Market, generator: Member, duid: str, station: str, capacity: float, field: str
) -> None:
    """Capacity is more than 0 and at most 10,000 MW, the station id at most 20 characters."""
    with pytest.raises(InvalidError) as refused:
        await market.services.standing.register_unit(duid, generator.participant_id, station, capacity)
    assert [error.field for error in refused.value.errors] == [field]


async def test_a_duid_of_10000_mw_is_accepted(market: Market, generator: Member) -> None:
    """The largest capacity allowed is registered."""
    unit = await market.services.standing.register_unit("BIG1", generator.participant_id, "S" * 20, 10_000.0)
    assert unit.max_capacity_mw == 10_000.0


async def test_an_nmi_record_naming_a_megabyte_participant_id_is_refused_without_echoing_it(market: Market) -> None:
    """mc, mdp and lnsp must look like participant ids; the error does not repeat the 2 MB sent."""
    mc = await market.participant("MC", ["MC", "MDP", "LNSP"], enrol=False)
    huge = "X" * 2_000_000
    with pytest.raises(InvalidError) as refused:
        await market.services.standing.record_responsibility("6004000001", huge, mc.participant_id, huge, "2026-01-01")
    assert [(error.field, len(error.message) < 200) for error in refused.value.errors] == [
        ("mc", True),
        ("lnsp", True),
    ]


@pytest.mark.parametrize("detail", ["", "   ", "d" * 1001])
async def test_an_outage_detail_is_1_to_1000_characters(market: Market, detail: str) -> None:
    """A blank or overlong outage notice is a 422 naming `detail`."""
    with pytest.raises(InvalidError) as refused:
        await market.services.admin.announce_outage(detail)
    assert [error.field for error in refused.value.errors] == ["detail"]
