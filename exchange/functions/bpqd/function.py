"""Basic Power Quality Data as a business function: its catalogue entry and the acceptance of a submission."""

from __future__ import annotations

from typing import Final

from exchange.functions.base import SampledFunction
from exchange.functions.bpqd.rules import body_errors
from exchange.functions.bpqd.sample import sample_body
from exchange.functions.bpqd.schema import DECODER
from exchange.functions.conformance import ConformanceSample, envelope_sample
from exchange.functions.envelope import decode_envelope, recipients_of, refuse_broken
from exchange.functions.protocol import Acceptance, Resource, SampleMaker, SampleOption, StandingData, Submission

MESSAGE_TYPE: Final = "BasicPowerQualityData"
BPQD_RESOURCE: Final = Resource(
    id="bpqd",
    schema_versions=("1.0",),
    sender_roles=frozenset({"MC", "MDP"}),
    receiver_roles=frozenset({"LNSP"}),
)


class BasicPowerQualityData(SampledFunction):
    """The `pqd` business function: MCs and MDPs send a day of power quality readings per NMI to LNSPs."""

    # What `idx sample` offers for the resource.
    sample = SampleMaker(
        resource_id="bpqd",
        summary="Print a valid BPQD envelope (one day of 5-minute readings, three phases per NMI).",
        options=(
            SampleOption("sender", "The MC or MDP sending it, e.g. MC1.", required=True),
            SampleOption("recipients", "An LNSP; repeat for several.", required=True, multiple=True, flag="recipient"),
            SampleOption("priority", "The message's priority.", default="Medium", choices=("High", "Medium", "Low")),
            SampleOption("nmis", "NMIs in the message.", kind="integer", default=1, minimum=1, maximum=10_000),
            SampleOption("reading_date", "The day of the readings.", default="2026-07-01"),
            SampleOption("seed", "Vary it for other NMIs and readings.", kind="integer", default=0),
        ),
        make=sample_body,
    )
    id: Final = "pqd"
    name: Final = "Basic Power Quality Data"
    resources: Final = (BPQD_RESOURCE,)
    entity: Final = "PQD_BPQD"

    def accept(self, submission: Submission, standing: StandingData) -> Acceptance:
        """Decode and check a BPQD body; raise MalformedBodyError or RuleViolationError, else accept it."""
        envelope = decode_envelope(submission.body, DECODER)
        header = envelope.data.header
        recipients = recipients_of(header, BPQD_RESOURCE, standing, submission.sender_id)
        refuse_broken(
            header,
            submission,
            BPQD_RESOURCE,
            standing,
            recipients,
            body_errors(envelope.data.transactions, submission.sender_id, recipients, standing),
        )
        return Acceptance(recipients=recipients, message_id=header.message_id, message_type=MESSAGE_TYPE)

    @property
    def conformance(self) -> ConformanceSample:
        return envelope_sample(self, sample_body, DECODER)
