"""How the conformance suite exercises a business function, from the `ConformanceSample` the plugin brings.

The plugin says what its messages are (`exchange.functions.conformance`); this module says how the suite's
parties are made on a running exchange and how they submit, the same for every plugin.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from exchange.functions.conformance import ConformanceSample, HasConformanceSample, Parties
from exchange.functions.protocol import BusinessFunction
from simulators.client import ParticipantClient
from tests.conformance.fakes import FakeStandingData
from tests.conformance.market import Market

OPERATOR = "OPERATOR"


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

    @property
    def parties(self) -> Parties:
        return Parties(self.sender, self.recipients, self.duid)


def sample_of(function: BusinessFunction) -> ConformanceSample:
    assert isinstance(function, HasConformanceSample), f"business function {function.id} has no `conformance`"
    return function.conformance


async def arrange(market: Market, function: BusinessFunction) -> Scene:
    """A sender and a recipient of the function's first resource on a running exchange (the operator receives
    for itself), and a generating unit of the sender's where the function needs one."""
    sample = sample_of(function)
    resource = function.resources[0]
    scopes = [function.entity, "TLS_CERTIFICATE_MANAGEMENT", "TRANSLOG_TRANSLOG"]
    signs = sample.submit_path is None
    sender = await market.participant("S", [sorted(resource.sender_roles)[0]], scopes, enrol=signs)
    receiver_role = sorted(resource.receiver_roles)[0]
    if receiver_role == OPERATOR:
        readers = {OPERATOR: market.operator}
    else:
        recipient = await market.participant("R", [receiver_role], scopes)
        readers = {recipient.participant_id: recipient}
    duid = await market.duid(sender, 700.0) if sample.needs_generating_unit else "DUID1"
    return Scene(function, sender.participant_id, list(readers), duid=duid, client=sender, readers=readers)


async def submit(scene: Scene, body: bytes) -> httpx.Response:
    """The sender's submission over HTTP: a signed envelope to the generic POST, or the body to the operation."""
    assert scene.client is not None
    sample = sample_of(scene.function)
    if sample.submit_path is None:
        resource = scene.function.resources[0]
        return await scene.client.submit(body, bf=scene.function.id, resource=resource.id)
    headers = scene.client.headers(**{"Content-Type": "application/json"})
    return await scene.client.http.post(sample.submit_path, content=body, headers=headers)


def http_refused_fields(function: BusinessFunction, response: httpx.Response) -> list[str]:
    fields = sample_of(function).http_refused_fields(response.status_code, response.json())
    assert fields, f"not a refusal naming fields: {response.status_code} {response.text}"
    return fields


def accepted(function: BusinessFunction, response: httpx.Response) -> None:
    """Assert that a submission over HTTP was accepted, in the function's own terms."""
    assert sample_of(function).http_accepted(response.status_code, response.json()), response.text
