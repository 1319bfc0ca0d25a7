"""Generator recall plans as a business function: its catalogue entry and its web services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from exchange.functions.base import OperatedFunction, operated_resource
from exchange.functions.conformance import ConformanceSample
from exchange.functions.protocol import (
    SampleMaker,
    SampleOption,
)
from exchange.functions.recall.conformance import conformance_sample
from exchange.functions.recall.domain import RecallBook
from exchange.functions.recall.request import RecallPlanFilter, SubmitRecallPlanBody
from exchange.functions.recall.sample import sample_body
from exchange.functions.recall.service import RecallPlans
from exchange.functions.services import Operation, PluginServices

if TYPE_CHECKING:
    from exchange.web.pages import PluginScreens, Web

BASE_PATH: Final = "/ws/GeneratorRecall/1.0"
# Plans arrive through the web services only; the operator's queue is fed from there.
RECALL_RESOURCE: Final = operated_resource("recall")


class GeneratorRecall(OperatedFunction):
    """The `gr` business function: generators keep recall plans for their DUIDs' outages; the operator reads all."""

    # What `idx sample` offers for the resource.
    sample = SampleMaker(
        resource_id="recall",
        summary=f"Print a valid recall plan, the body of POST {BASE_PATH}/submitRecallPlan.",
        options=(
            SampleOption(
                "participant_id", "The generator submitting it, e.g. GEN1.", required=True, flag="participant"
            ),
            SampleOption("duid", "A DUID of the generator's, e.g. DEMOGEN1.", required=True),
            SampleOption("plan_id", "The outage plan's id.", default="PLAN1"),
            SampleOption("start", "The first day of the plan.", default="2026-07-01"),
            SampleOption("entries", "Contiguous entries in the plan.", kind="integer", default=2, minimum=1),
            SampleOption("days", "Days of each entry.", kind="integer", default=7, minimum=1),
            SampleOption("mw", "MW of stage 1 (stage 2 restores twice as much).", kind="number", default=100.0),
        ),
        make=sample_body,
    )
    id: Final = "gr"
    name: Final = "Generator Recall Plans"
    resources: Final = (RECALL_RESOURCE,)
    entity: Final = "GR_RECALL"
    # Listing plans without a DUID reads every book (see RecallPlans._visible_books).
    listed: Final = ((RecallBook, "Opened"),)
    submitted_with = f"recall plans are submitted with POST {BASE_PATH}/submitRecallPlan"

    def screens(self, web: Web) -> PluginScreens:
        # Imported here: the screens need the web app, which the rest of the function does without.
        from exchange.functions.recall.web import recall_screens

        return recall_screens(web)

    @property
    def conformance(self) -> ConformanceSample:
        return conformance_sample(f"{BASE_PATH}/submitRecallPlan")

    def operations(self, services: PluginServices) -> Sequence[Operation]:
        plans = RecallPlans(services)
        entity = self.entity
        return [
            Operation(
                "POST",
                f"{BASE_PATH}/submitRecallPlan",
                entity,
                "Submit a recall plan",
                plans.submit_recall_plan,
                request=SubmitRecallPlanBody,
            ),
            Operation(
                "POST",
                f"{BASE_PATH}/listRecallPlans",
                entity,
                "List recall plans",
                plans.list_recall_plans,
                request=RecallPlanFilter,
            ),
            Operation(
                "POST",
                f"{BASE_PATH}/getRecallPlan",
                entity,
                "Get a recall plan",
                plans.get_recall_plan,
                request=RecallPlanFilter,
            ),
            Operation("POST", f"{BASE_PATH}/getRecallFlags", None, "List the recall flags", plans.get_recall_flags),
        ]
