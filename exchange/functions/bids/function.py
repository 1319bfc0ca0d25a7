"""Energy bids as a business function: its catalogue entry and its two operations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from exchange.functions.base import OperatedFunction, operated_resource
from exchange.functions.bids.conformance import conformance_sample
from exchange.functions.bids.sample import sample_body
from exchange.functions.bids.schema import SubmitBids
from exchange.functions.bids.service import EnergyBids
from exchange.functions.conformance import ConformanceSample
from exchange.functions.protocol import (
    SampleMaker,
    SampleOption,
    Watermarks,
)
from exchange.functions.services import Operation, PluginServices

if TYPE_CHECKING:
    from exchange.web.pages import PluginScreens, Web

SUBMIT_PATH: Final = "/bids/v1/submitBids"
# Bids arrive through `submitBids` only; the operator's queue is fed from there.
ENERGY_RESOURCE: Final = operated_resource("energy")


class EnergyBidding(OperatedFunction):
    """The `bid` business function: generators bid their DUIDs' energy per trading day; the operator receives."""

    # What `idx sample` offers for the resource.
    sample = SampleMaker(
        resource_id="energy",
        summary="Print valid energy bids, the body of POST /bids/v1/submitBids.",
        options=(
            SampleOption("duids", "A DUID to bid; repeat for several.", required=True, multiple=True, flag="duid"),
            SampleOption("reference_id", "The submission's reference.", default="REF-0001"),
            SampleOption("trading_date", "The trading day bid for.", default="2026-07-01"),
            SampleOption("max_avail", "The DUIDs' greatest availability (MW).", kind="number", default=300.0),
        ),
        make=sample_body,
    )
    id: Final = "bid"
    name: Final = "Energy Bids"
    resources: Final = (ENERGY_RESOURCE,)
    entity: Final = "BID_ENERGY"
    # Every generator's bids and rebids land in the one operator queue: room for a day of them.
    watermark_defaults = Watermarks(low=40000, warn=45000, high=50000)
    submitted_with = f"energy bids are submitted with POST {SUBMIT_PATH}"

    def screens(self, web: Web) -> PluginScreens:
        # Imported here: the screens need the web app, which the rest of the function does without.
        from exchange.functions.bids.web import bid_screens

        return bid_screens(web)

    @property
    def conformance(self) -> ConformanceSample:
        return conformance_sample(SUBMIT_PATH)

    def operations(self, services: PluginServices) -> Sequence[Operation]:
        bids = EnergyBids(services)
        return [
            Operation("POST", SUBMIT_PATH, self.entity, "Submit energy bids", bids.submit_bids, request=SubmitBids),
            Operation(
                "GET",
                "/bids/v1/bids",
                self.entity,
                "The latest bid of a DUID for a day",
                bids.bids,
                query={"duid": "The DUID", "tradingDate": "The trading day (YYYY-MM-DD)"},
            ),
        ]
