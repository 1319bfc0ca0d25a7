"""What a business function tells the conformance suite (`tests/conformance`) about its messages.

The suite runs over every registered function. Each brings a `ConformanceSample` as its `conformance`
attribute: a valid body for given parties, the body read back by its schema, a body breaking one rule with the
field its refusal must name, and how a sender submits over HTTP. A function whose messages are IDX envelopes
sent through the generic POST needs no more than `envelope_sample(its sample_body, its decoder)`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import msgspec

from exchange.functions.errors import RuleViolationError
from exchange.functions.protocol import BusinessFunction, StandingData, Submission


@dataclass(frozen=True)
class Parties:
    """Who sends and who must receive; `duid` is a generating unit of the sender's (700 MW) where one is needed."""

    sender: str
    recipients: list[str]
    duid: str = "DUID1"


def problem_fields(status: int, body: Any) -> list[str]:
    """The fields a 422 problem names (none for any other answer)."""
    if status != 422:
        return []
    return [str(error["field"]) for error in body.get("errors", [])]


def answered_200(status: int, body: Any) -> bool:
    return status == 200


@dataclass(frozen=True)
class ConformanceSample:
    """How the conformance suite exercises one business function, in-process and over HTTP."""

    # A valid body from the parties' sender to its recipients.
    body: Callable[[Parties], bytes]
    # The body read by the function's schema and written back as JSON (compared with the body).
    round_trip: Callable[[Parties, bytes, StandingData], Any]
    # A body breaking one rule, and the field path its refusal must name.
    malformed: Callable[[Parties], tuple[bytes, str]]
    # The field paths the function's in-process check names for a body (empty when it accepts it).
    refused_fields: Callable[[Parties, bytes, StandingData], list[str]]
    # None: a signed IDX envelope to `POST /{bf}/v1/{resource}` of the first resource; else the path of the
    # operation a sender posts the JSON body to with its token.
    submit_path: str | None = None
    # The sender needs a generating unit of its own in standing data (its id is `Parties.duid`).
    needs_generating_unit: bool = False
    # The fields a refusal over HTTP names, from its status and JSON body; and whether an answer is an acceptance.
    http_refused_fields: Callable[[int, Any], list[str]] = field(default=problem_fields)
    http_accepted: Callable[[int, Any], bool] = field(default=answered_200)


@runtime_checkable
class HasConformanceSample(Protocol):
    @property
    def conformance(self) -> ConformanceSample: ...


def envelope_sample(
    function: BusinessFunction,
    sample_body: Callable[[str, list[str]], bytes],
    decoder: msgspec.json.Decoder[Any],
    encoder: msgspec.json.Encoder | None = None,
) -> ConformanceSample:
    """The sample of a function whose messages are IDX envelopes sent through the generic POST.

    `decoder` is the function's one decoder of a body (its schema), for the round trip; `encoder` writes it
    back where msgspec's defaults would not give the JSON that was sent (decimal amounts as numbers, say).
    """

    def submission(parties: Parties, body: bytes) -> Submission:
        resource = function.resources[0]
        context = f"{function.id}~{resource.id}~M~{parties.sender}~{'0' * 24}"
        return Submission(
            function.id, resource.id, parties.sender, "Medium", context, resource.latest_schema_version, body
        )

    def body(parties: Parties) -> bytes:
        return sample_body(parties.sender, parties.recipients)

    def round_trip(parties: Parties, body: bytes, standing: StandingData) -> Any:
        accepted = function.accept(submission(parties, body), standing)
        if list(accepted.recipients) != parties.recipients:
            raise AssertionError(f"accepted for {accepted.recipients}, not {parties.recipients}")
        if encoder is not None:
            return json.loads(encoder.encode(decoder.decode(body)))
        return msgspec.to_builtins(decoder.decode(body))

    def malformed(parties: Parties) -> tuple[bytes, str]:
        envelope = json.loads(sample_body(parties.sender, parties.recipients))
        envelope["data"]["transactions"] = "none"
        return msgspec.json.encode(envelope), "data.transactions"

    def refused_fields(parties: Parties, body: bytes, standing: StandingData) -> list[str]:
        try:
            function.accept(submission(parties, body), standing)
        except RuleViolationError as error:
            return [e.field for e in error.errors]
        return []

    return ConformanceSample(body, round_trip, malformed, refused_fields)
