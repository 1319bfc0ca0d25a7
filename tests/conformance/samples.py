"""How the conformance suite exercises each business function, keyed by its id.

A plugin that exchanges IDX envelopes needs only `envelope_sample(its sample_body)`: arranging its parties,
submitting through `POST /{bf}/v1/{resource}` and reading 422 problems are the same for all of them. A plugin
with operations of its own (recall plans, bids) says how its sender submits and how refusals name fields.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec

from exchange.functions.bids.rules import first_errors, submission_errors
from exchange.functions.bids.sample import sample_body as bid_body
from exchange.functions.bids.schema import read_submission
from exchange.functions.bpqd.sample import sample_body as bpqd_body
from exchange.functions.bpqd.schema import DECODER as BPQD_DECODER
from exchange.functions.errors import RuleViolationError
from exchange.functions.protocol import BusinessFunction, Submission
from exchange.functions.recall.request import RecallError, plan_json, read_plan
from exchange.functions.recall.rules import plan_errors
from exchange.functions.recall.sample import sample_body as recall_body
from simulators.client import ParticipantClient, new_context_id
from tests.conformance.fakes import FakeStandingData
from tests.conformance.market import Market


@dataclass
class Scene:
    """The parties of one exchange of a business function: who sends, who must receive, what they own."""

    function: BusinessFunction
    sender: str
    recipients: list[str]
    duid: str = "DUID1"
    client: ParticipantClient | None = None
    # Clients of the recipients on a running exchange, by participant id (the operator's is the market's).
    readers: dict[str, ParticipantClient] = field(default_factory=dict)
    standing: FakeStandingData = field(default_factory=FakeStandingData)


@dataclass(frozen=True)
class Sample:
    """What the suite needs of one business function beyond its catalogue entry."""

    # A valid body for the scene's sender and recipients.
    body: Callable[[Scene], bytes]
    # The body read by the plugin's schema and written back as JSON (compared with the body).
    round_trip: Callable[[Scene, bytes], Any]
    # A body breaking one rule, and the field path its refusal must name.
    malformed: Callable[[Scene], tuple[bytes, str]]
    # The field paths a plugin's in-process check names for a body (empty when it accepts it).
    refused_fields: Callable[[Scene, bytes], list[str]]
    # Parties and standing data on a running exchange; then the submission over HTTP, and its refused fields.
    arrange: Callable[[Market, BusinessFunction], Awaitable[Scene]]
    submit: Callable[[Scene, bytes], Awaitable[httpx.Response]]
    http_refused_fields: Callable[[httpx.Response], list[str]]


def problem_fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    return [error["field"] for error in response.json()["errors"]]


# --- IDX envelopes (BPQD and any function like it) ---------------------------------------------------------


def envelope_sample(sample_body: Callable[[str, list[str]], bytes], decoder: msgspec.json.Decoder[Any]) -> Sample:
    """The sample of a plugin whose messages are IDX envelopes sent through the generic POST.

    `decoder` is the plugin's one decoder of a body (its schema), for the round trip.
    """

    def submission(scene: Scene, body: bytes) -> Submission:
        resource = scene.function.resources[0]
        context = new_context_id(scene.function.id, resource.id, "Medium", scene.sender)
        return Submission(
            scene.function.id, resource.id, scene.sender, "Medium", context, resource.latest_schema_version, body
        )

    def body(scene: Scene) -> bytes:
        return sample_body(scene.sender, scene.recipients)

    def round_trip(scene: Scene, body: bytes) -> Any:
        accepted = scene.function.accept(submission(scene, body), scene.standing)
        assert list(accepted.recipients) == scene.recipients
        return msgspec.to_builtins(decoder.decode(body))

    def malformed(scene: Scene) -> tuple[bytes, str]:
        envelope = json.loads(sample_body(scene.sender, scene.recipients))
        envelope["data"]["transactions"] = "none"
        return msgspec.json.encode(envelope), "data.transactions"

    def refused_fields(scene: Scene, body: bytes) -> list[str]:
        try:
            scene.function.accept(submission(scene, body), scene.standing)
        except RuleViolationError as error:
            return [e.field for e in error.errors]
        return []

    async def arrange(market: Market, function: BusinessFunction) -> Scene:
        resource = function.resources[0]
        scopes = [function.entity, "TLS_CERTIFICATE_MANAGEMENT", "TRANSLOG_TRANSLOG"]
        sender = await market.participant("S", [sorted(resource.sender_roles)[0]], scopes, enrol=True)
        recipient = await market.participant("R", [sorted(resource.receiver_roles)[0]], scopes)
        readers = {recipient.participant_id: recipient}
        return Scene(function, sender.participant_id, [recipient.participant_id], client=sender, readers=readers)

    async def submit(scene: Scene, body: bytes) -> httpx.Response:
        assert scene.client is not None
        resource = scene.function.resources[0]
        return await scene.client.submit(body, bf=scene.function.id, resource=resource.id)

    return Sample(body, round_trip, malformed, refused_fields, arrange, submit, problem_fields)


# --- Operations of their own --------------------------------------------------------------------------------


async def arrange_generator(market: Market, function: BusinessFunction) -> Scene:
    generator = await market.generator()
    duid = await market.duid(generator, 700.0)
    readers = {"OPERATOR": market.operator}
    return Scene(function, generator.participant_id, ["OPERATOR"], duid=duid, client=generator, readers=readers)


def operation_submit(path: str) -> Callable[[Scene, bytes], Awaitable[httpx.Response]]:
    async def submit(scene: Scene, body: bytes) -> httpx.Response:
        assert scene.client is not None
        headers = scene.client.headers(**{"Content-Type": "application/json"})
        return await scene.client.http.post(path, content=body, headers=headers)

    return submit


def _recall_path(error: RecallError) -> str:
    if error.entry_number == 0:
        return error.entry_field
    return f"RecallPlanEntries[{error.entry_number - 1}].{error.entry_field}"


def _recall_refused(scene: Scene, body: bytes) -> list[str]:
    submission, errors = read_plan(json.loads(body))
    if not errors and submission.entries:
        unit = scene.standing.generating_unit(scene.duid)
        errors = plan_errors(submission, submission.entries, scene.sender, unit, None)
    return [_recall_path(error) for error in errors]


def _recall_malformed(scene: Scene) -> tuple[bytes, str]:
    plan = json.loads(recall_body(scene.sender, scene.duid))
    plan["RecallPlanEntries"][1]["Stage1MW"] = "lots"
    return msgspec.json.encode(plan), "RecallPlanEntries[1].Stage1MW"


def _recall_http_refused(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["SuccessFlag"] is False
    return [_recall_path(RecallError(e["EntryNumber"], e["EntryField"], e["ErrorMessage"])) for e in data["Errors"]]


def _recall_accepted(response: httpx.Response) -> None:
    assert response.json()["data"]["SuccessFlag"] is True, response.text


RECALL = Sample(
    body=lambda scene: recall_body(scene.sender, scene.duid),
    round_trip=lambda scene, body: plan_json(read_plan(json.loads(body))[0]),
    malformed=_recall_malformed,
    refused_fields=_recall_refused,
    arrange=arrange_generator,
    submit=operation_submit("/ws/GeneratorRecall/1.0/submitRecallPlan"),
    http_refused_fields=_recall_http_refused,
)


def _bid_refused(scene: Scene, body: bytes) -> list[str]:
    try:
        submission = read_submission(body)
    except RuleViolationError as error:
        return [e.field for e in error.errors]
    units = {bid.duid: scene.standing.generating_unit(bid.duid) for bid in submission.energy_bids}
    return [e.field for e in first_errors(submission_errors(submission, scene.sender, units))]


def _bid_malformed(scene: Scene) -> tuple[bytes, str]:
    bids = json.loads(bid_body([scene.duid]))
    bids["energyBids"][0]["energyPeriods"][3]["recallPeriod"] = "5"
    return msgspec.json.encode(bids), "energyBids[0].energyPeriods[3].recallPeriod"


BIDS = Sample(
    body=lambda scene: bid_body([scene.duid]),
    round_trip=lambda scene, body: msgspec.to_builtins(read_submission(body)),
    malformed=_bid_malformed,
    refused_fields=_bid_refused,
    arrange=arrange_generator,
    submit=operation_submit("/bids/v1/submitBids"),
    http_refused_fields=problem_fields,
)

# Every registered business function needs an entry here; the suite fails for one that has none.
SAMPLES: dict[str, Sample] = {
    "pqd": envelope_sample(bpqd_body, BPQD_DECODER),
    "gr": RECALL,
    "bid": BIDS,
}


def accepted(function_id: str, response: httpx.Response) -> None:
    """Assert that a submission over HTTP was accepted, in the function's own terms."""
    assert response.status_code == 200, response.text
    if function_id == "gr":
        _recall_accepted(response)
