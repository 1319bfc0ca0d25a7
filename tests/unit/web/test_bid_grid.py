"""The bid grid's body, checked by the bid operations themselves: a blank recall cell is no attribute (stored as
24000), a text cell is refused at that cell, and a rebid starts from the stored version."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from exchange.functions.bids.sample import sample_energy_bid
from exchange.functions.bids.service import EnergyBids
from exchange.functions.bids.web import BAND_FIELDS, BidForm, by_cell, cell_of
from exchange.functions.errors import RuleViolationError
from exchange.functions.services import Call
from tests.conformance.fakes import FakeServices, two_generators

GENERATOR = frozenset({"GENERATOR"})


def filled_grid(**period_one: str) -> BidForm:
    """A bid for DUID1 on 2026-07-01 with every period as period 1 after filling down."""
    form = BidForm.blank("DUID1", "2026-07-01")
    form.bid.update(referenceId="WEB-1", **{f"price{band}": str(band * 10) for band in range(10)})
    form.periods[0].update(maxAvail="100", rampUpRate="5", rampDownRate="5", pasaAvail="100")
    form.periods[0].update({name: "10" for name in BAND_FIELDS})
    form.periods[0].update(period_one)
    form.fill_down()
    return form


@pytest.fixture
def bids() -> EnergyBids:
    return EnergyBids(FakeServices(two_generators(duid1_mw=400.0)))


async def submit(bids: EnergyBids, form: BidForm) -> Any:
    return await bids.submit_bids(Call("GEN1", GENERATOR, msgspec.json.encode(form.request_body())))


async def test_a_blank_recall_cell_is_left_out_and_stored_as_24000_a_numeric_one_as_typed(bids: EnergyBids) -> None:
    """Period 1's recall cell blank (and so every filled-down one), period 2's 5: stored as 24000 and 5."""
    form = filled_grid()
    form.periods[1]["recallPeriod"] = "5"
    body = form.request_body()
    periods = body["energyBids"][0]["energyPeriods"]
    assert "recallPeriod" not in periods[0] and periods[1]["recallPeriod"] == 5
    assert (await submit(bids, form)).status == 200
    found = await bids.bids(Call("GEN1", GENERATOR, b"", {"duid": "DUID1", "tradingDate": "2026-07-01"}))
    stored = found.body["data"]["latest"]["energyPeriods"]
    assert [p["recallPeriod"] for p in stored[:3]] == [24000, 5, 24000]


async def test_a_text_recall_cell_is_refused_at_that_cell(bids: EnergyBids) -> None:
    """The API's own rule names energyBids[0].energyPeriods[2].recallPeriod; the grid shows it at p2.recallPeriod."""
    form = filled_grid()
    form.periods[2]["recallPeriod"] = "soon"
    with pytest.raises(RuleViolationError) as refused:
        await submit(bids, form)
    errors = [{"field": e.field, "message": e.message} for e in refused.value.errors]
    assert by_cell(errors) == {"p2.recallPeriod": ["period 3: recallPeriod is the string 'soon', not a number"]}


def test_api_field_paths_land_on_the_grid_cells() -> None:
    """Periods, their bands, the prices and the bid's own fields each have a cell."""
    assert cell_of("energyBids[0].energyPeriods[7].maxAvail") == "p7.maxAvail"
    assert cell_of("energyBids[0].energyPeriods[7].bandAvail[3]") == "p7.bandAvail3"
    assert cell_of("energyBids[0].energyPeriods[7]") == "p7"
    assert cell_of("energyBids[0].energyPeriods") == "energyPeriods"
    assert cell_of("energyBids[0].prices[4]") == "price4"
    assert cell_of("energyBids[0].dailyEnergyConstraint") == "dailyEnergyConstraint"
    assert cell_of("referenceId") == "referenceId"


def test_a_rebid_starts_from_the_stored_version() -> None:
    """Every stored value is in its cell, the stored default recall period too; the reference is left to type."""
    stored = sample_energy_bid("DUID1", recall_period=None)
    stored["energyPeriods"][0]["recallPeriod"] = 24000
    form = BidForm.of_version(stored)
    assert form.bid["duid"] == "DUID1" and form.bid["referenceId"] == ""
    assert form.bid["price2"] == "35.5"
    assert form.periods[0]["recallPeriod"] == "24000" and form.periods[1]["recallPeriod"] == ""
    assert float(form.periods[287]["maxAvail"]) == stored["energyPeriods"][287]["maxAvail"]


async def test_a_rebid_from_the_grid_keeps_fixed_load_energy_limit_and_fast_start_profile(bids: EnergyBids) -> None:
    """The grid has cells for every stored attribute, so a rebid made from it sends them again unchanged."""
    first = filled_grid(fixedLoad="12.5", energyLimit="300")
    first.bid["fastStartProfile"] = '{"minimumLoad": 20, "t1": 5, "t2": 10, "t3": 15, "t4": 20}'
    assert (await submit(bids, first)).status == 200
    query = {"duid": "DUID1", "tradingDate": "2026-07-01"}
    latest = (await bids.bids(Call("GEN1", GENERATOR, b"", query))).body["data"]["latest"]

    rebid = BidForm.of_version(latest)
    rebid.bid.update(referenceId="WEB-2", rebidExplanation="price change")
    assert (await submit(bids, rebid)).status == 200

    found = (await bids.bids(Call("GEN1", GENERATOR, b"", query))).body["data"]
    assert [version["version"] for version in found["history"]] == [1, 2]
    stored = found["latest"]
    assert stored["fastStartProfile"] == {"minimumLoad": 20, "t1": 5, "t2": 10, "t3": 15, "t4": 20}
    assert {(p["fixedLoad"], p["energyLimit"]) for p in stored["energyPeriods"]} == {(12.5, 300)}


def test_a_fast_start_profile_that_is_no_json_is_refused_at_its_field() -> None:
    """Nothing is sent: the grid names the field and keeps the text for correcting."""
    form = filled_grid()
    form.bid["fastStartProfile"] = "{minimumLoad: 20"
    [error] = form.form_errors()
    assert error["field"] == "fastStartProfile" and error["message"].startswith("is not JSON")
    assert filled_grid().form_errors() == []
