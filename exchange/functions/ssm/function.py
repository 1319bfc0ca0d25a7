"""SSM indicative schedules as a business function: its catalogue entry, the acceptance of a roll, its queries.

The operator publishes; GENERATORs (providers) and TNSPs (procurers) receive. A `region` roll goes to every
recipient (`"receivingParticipantId": ["*"]`); a `duid` roll goes to the one owner of all its DUIDs, so that no
provider sees another's schedule and the signed payload never has to be cut up by the exchange.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import msgspec

from exchange.functions.conformance import ConformanceSample, envelope_sample
from exchange.functions.envelope import Envelope, decode_envelope, recipients_of, refuse_broken
from exchange.functions.protocol import (
    Acceptance,
    Resource,
    SampleMaker,
    SampleOption,
    StandingData,
    Submission,
    Watermarks,
)
from exchange.functions.services import Operation, PluginServices
from exchange.functions.ssm.domain import PublishedRoll
from exchange.functions.ssm.rules import REGIONS, duid_roll_errors, no_transactions, region_roll_errors
from exchange.functions.ssm.sample import DEFAULT_RUN, duid_body, region_body
from exchange.functions.ssm.schema import DECODERS, REGION_DECODER, ROLL_TYPES, DuidTransaction, RegionTransaction
from exchange.functions.ssm.service import Schedules
from exchange.functions.ssm.split import split_by_owner

if TYPE_CHECKING:
    from exchange.web.pages import PluginScreens, Web

SENDERS: Final = frozenset({"OPERATOR"})
# Providers (generators and battery operators) and procurers (TNSPs; AEMO is the operator itself).
RECEIVERS: Final = frozenset({"GENERATOR", "TNSP"})
# Region first: it is the resource the conformance suite exchanges (any recipient may receive a region roll).
REGION_RESOURCE: Final = Resource(id="region", schema_versions=("1.0",), sender_roles=SENDERS, receiver_roles=RECEIVERS)
DUID_RESOURCE: Final = Resource(id="duid", schema_versions=("1.0",), sender_roles=SENDERS, receiver_roles=RECEIVERS)
RESOURCES: Final = {resource.id: resource for resource in (REGION_RESOURCE, DUID_RESOURCE)}
SCHEDULES_PATH: Final = "/ssm/v1/schedules"

_SENDER_OPTION = SampleOption("sender", "The operator sending it.", default="OPERATOR")
_RUN_OPTION = SampleOption("run", "The run's time (ISO 8601 with offset).", default=DEFAULT_RUN)
_INTERVALS_OPTION = SampleOption(
    "intervals", "Five-minute intervals the run schedules.", kind="integer", default=12, minimum=1, maximum=2016
)
_SEED_OPTION = SampleOption("seed", "Vary it for other MW.", kind="integer", default=0)


class SystemSecuritySchedules:
    """The `ssm` business function: the operator's indicative schedules of system security enablement."""

    id: Final = "ssm"
    name: Final = "SSM Indicative Schedules"
    entity: Final = "SSM_SCHEDULE"
    resources: Final = (REGION_RESOURCE, DUID_RESOURCE)
    # A roll of each resource every 5 minutes: 288 a day each, and room for a few days of them unread.
    watermark_defaults: Final = Watermarks(low=2000, warn=2500, high=3000)
    # The queries read every roll, in the order they were accepted.
    listed: Final = ((PublishedRoll, "Published"),)

    def accept(self, submission: Submission, standing: StandingData) -> Acceptance:
        """Check a roll; accept it for its recipients (`*` resolved now) and keep its rows for the queries."""
        resource = RESOURCES[submission.resource_id]
        envelope: Envelope[Any] = decode_envelope(submission.body, DECODERS[submission.resource_id])
        header = envelope.data.header
        recipients = recipients_of(header, resource, standing, submission.sender_id)
        transactions = envelope.data.transactions
        roll_type = ROLL_TYPES[resource.id]
        if resource is DUID_RESOURCE:
            duid_transactions = [t for t in transactions if isinstance(t, DuidTransaction)]
            body_errors = duid_roll_errors(duid_transactions, roll_type, recipients, standing)
        else:
            region_transactions = [t for t in transactions if isinstance(t, RegionTransaction)]
            body_errors = region_roll_errors(region_transactions, roll_type)
        refuse_broken(
            header, submission, resource, standing, recipients, no_transactions(len(transactions)), body_errors
        )
        rows: list[dict[str, Any]] = [msgspec.to_builtins(row) for t in transactions for row in t.rows]
        roll = PublishedRoll(submission.message_context_id, resource.id, list(recipients), rows)
        return Acceptance(recipients=recipients, message_id=header.message_id, message_type=roll_type, records=(roll,))

    def split(self, resource_id: str, body: bytes, owners: Mapping[str, str]) -> list[bytes]:
        """A DUID roll as one roll per owner of its DUIDs (each a new messageId); a region roll as it is."""
        if resource_id != DUID_RESOURCE.id:
            return [body]
        return split_by_owner(body, owners)

    def samples(self) -> tuple[SampleMaker, ...]:
        return (
            SampleMaker(
                resource_id="region",
                summary="Print a region roll: every region's requirement and enabled MW, to every recipient (*).",
                options=(
                    _SENDER_OPTION,
                    SampleOption(
                        "recipients",
                        "A recipient; repeat for several (default: *, everyone).",
                        multiple=True,
                        flag="recipient",
                    ),
                    SampleOption(
                        "regions", "A region; repeat for several.", multiple=True, choices=REGIONS, flag="region"
                    ),
                    _RUN_OPTION,
                    _INTERVALS_OPTION,
                    _SEED_OPTION,
                ),
                make=region_body,
            ),
            SampleMaker(
                resource_id="duid",
                summary="Print a DUID roll; send it to the DUIDs' one owner, or split it by owner with `idx publish`.",
                options=(
                    _SENDER_OPTION,
                    SampleOption(
                        "recipients", "The DUIDs' owner (idx publish sets it).", multiple=True, flag="recipient"
                    ),
                    SampleOption("duids", "A DUID; repeat for several.", required=True, multiple=True, flag="duid"),
                    _RUN_OPTION,
                    _INTERVALS_OPTION,
                    _SEED_OPTION,
                ),
                make=duid_body,
            ),
        )

    @property
    def conformance(self) -> ConformanceSample:
        return envelope_sample(self, region_body, REGION_DECODER)

    def operations(self, services: PluginServices) -> Sequence[Operation]:
        schedules = Schedules(services)
        # Only required parameters are declared (the core insists on each); the optional ones are in the summaries.
        return [
            Operation(
                "GET",
                f"{SCHEDULES_PATH}/duid",
                self.entity,
                "The latest run's schedule of one of your DUIDs, per interval (optional fromDateTime, toDateTime)",
                schedules.duid_schedule,
                query={"duid": "Your DUID"},
            ),
            Operation(
                "GET",
                f"{SCHEDULES_PATH}/region",
                self.entity,
                "The latest run's regional requirement and enabled MW, per interval (optional regionId, fromDateTime, "
                "toDateTime)",
                schedules.region_schedule,
            ),
        ]

    def screens(self, web: Web) -> PluginScreens:
        # Imported here: the screens need the web app, which the rest of the function does without.
        from exchange.functions.ssm.web import schedule_screens

        return schedule_screens(web)


__all__ = ["DUID_RESOURCE", "REGION_RESOURCE", "SystemSecuritySchedules"]
