"""Schemathesis over the exchange's own OpenAPI document, as a participant and as the operator.

Every operation gets generated requests, valid and invalid; every answer must be no 5xx, a status the document
lists for it, of the content type the document gives, and match the document's schema. Bounded to about two
minutes on two cores; deselect with `-m "not schemathesis"`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.harness import ServerProcess, running_server

pytestmark = [pytest.mark.e2e, pytest.mark.schemathesis]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Requests per operation and caller: about 50 operations, 2 callers and this many stay within two minutes.
EXAMPLES = 40
# Past this (a machine loaded by other work), the operations not yet reached are reported as failures, not skipped.
BUDGET_SECONDS = 240


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # No test clock: generated requests must not move the exchange's time under the other caller.
    with running_server(tmp_path_factory.mktemp("openapi") / "data", "--rate-limit", "0") as running:
        yield running


def token(base_url: str, client_id: str, secret: str) -> str:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    response = httpx.post(f"{base_url}/oauth/token", data=form)
    response.raise_for_status()
    return str(response.json()["access_token"])


def participant_token(base_url: str, operator: str) -> str:
    """A metering coordinator like MC1, with the scopes of every business function it may use."""
    headers = {"Authorization": f"Bearer {operator}"}
    registered = httpx.post(
        f"{base_url}/admin/v1/participants",
        json={"participantId": "MC1", "name": "MC1 schemathesis", "roles": ["MC"]},
        headers=headers,
    )
    assert registered.status_code == 201, registered.text
    client = httpx.post(
        f"{base_url}/admin/v1/participants/MC1/clients",
        json={"scopes": ["PQD_BPQD", "TLS_CERTIFICATE_MANAGEMENT"]},
        headers=headers,
    )
    assert client.status_code == 201, client.text
    issued = client.json()["data"]
    return token(base_url, issued["clientId"], issued["clientSecret"])


def exercise(operation: APIOperation, base_url: str, bearer: str) -> None:
    """Generated requests to one operation with one caller's token, valid and invalid alike; raises at the first
    answer that does not conform."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in GenerationMode)))
    def conforms(case: schemathesis.Case) -> None:
        case.call_and_validate(
            base_url=base_url, headers={"Authorization": f"Bearer {bearer}"}, checks=CHECKS, timeout=30
        )

    conforms()


def test_every_answer_conforms_to_the_openapi_document_for_a_participant_and_the_operator(
    server: ServerProcess,
) -> None:
    """No generated request gets a 5xx or an answer whose status, content type or body the document does not give."""
    base_url = server.base_url
    operator = token(base_url, "operator", server.operator_secret)
    callers = {"MC1": participant_token(base_url, operator), "operator": operator}
    schema = schemathesis.openapi.from_url(f"{base_url}/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40, "the document lists every route"

    failures: list[str] = []
    deadline = time.monotonic() + BUDGET_SECONDS
    for caller, bearer in callers.items():
        for operation in operations:
            if time.monotonic() > deadline:
                failures.append(f"out of time before {caller} {operation.label}")
                break

            try:
                exercise(operation, base_url, bearer)
            except (Exception, BaseExceptionGroup) as failure:  # each operation's first failure, all reported together
                failures.append(f"{caller} {operation.label}: {failure}")
    assert not failures, "\n\n".join(failures) + f"\n\nserver log:\n{server.log_tail(80)}"


def test_the_document_names_the_bearer_scheme_and_problem_answers(server: ServerProcess) -> None:
    """Routes behind the guard require the bearer scheme; their 401 is a problem (application/problem+json)."""
    document = httpx.get(f"{server.base_url}/schema/openapi.json").json()

    assert document["components"]["securitySchemes"]["bearerToken"] == {"type": "http", "scheme": "bearer"} | {
        "description": document["components"]["securitySchemes"]["bearerToken"]["description"]
    }
    listing = document["paths"]["/pqd/v1/bpqd"]["get"]
    assert listing["security"] == [{"bearerToken": []}]
    assert "application/problem+json" in listing["responses"]["401"]["content"]
    assert "security" not in document["paths"]["/healthz"]["get"]
    bids = document["paths"]["/bids/v1/submitBids"]["post"]
    assert bids["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/SubmitBids"}
    assert {p["name"] for p in document["paths"]["/bids/v1/bids"]["get"]["parameters"]} == {"duid", "tradingDate"}
    payload = document["paths"]["/pqd/v1/bpqd/{messageContextId}"]["get"]["responses"]["200"]
    assert payload["content"]["application/json"]["schema"]["type"] == "object"
