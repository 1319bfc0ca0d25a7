"""The energy bids' sample for the conformance suite: bids posted to `submitBids`, refusals as 422 problems."""

from __future__ import annotations

import json

import msgspec

from exchange.functions.bids.rules import first_errors, submission_errors
from exchange.functions.bids.sample import sample_body
from exchange.functions.bids.schema import read_submission
from exchange.functions.conformance import ConformanceSample, Parties
from exchange.functions.errors import RuleViolationError
from exchange.functions.protocol import StandingData


def _refused(parties: Parties, body: bytes, standing: StandingData) -> list[str]:
    try:
        submission = read_submission(body)
    except RuleViolationError as error:
        return [e.field for e in error.errors]
    units = {bid.duid: standing.generating_unit(bid.duid) for bid in submission.energy_bids}
    return [e.field for e in first_errors(submission_errors(submission, parties.sender, units))]


def _malformed(parties: Parties) -> tuple[bytes, str]:
    bids = json.loads(sample_body([parties.duid]))
    bids["energyBids"][0]["energyPeriods"][3]["recallPeriod"] = "5"
    return msgspec.json.encode(bids), "energyBids[0].energyPeriods[3].recallPeriod"


def conformance_sample(submit_path: str) -> ConformanceSample:
    return ConformanceSample(
        body=lambda parties: sample_body([parties.duid]),
        round_trip=lambda parties, body, standing: msgspec.to_builtins(read_submission(body)),
        malformed=_malformed,
        refused_fields=_refused,
        submit_path=submit_path,
        needs_generating_unit=True,
    )
