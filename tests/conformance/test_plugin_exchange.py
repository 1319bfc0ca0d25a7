"""Every registered business function against a running exchange: catalogue, routing, refusals and access."""

from __future__ import annotations

import json
from typing import Any

import pytest

from exchange.functions.conformance import ConformanceSample
from exchange.functions.protocol import BusinessFunction
from tests.conformance.market import Market, queue_items
from tests.conformance.samples import accepted, arrange, http_refused_fields, submit
from tests.conformance.test_plugin_contract import operations_of
from tests.problems import assert_problem

pytestmark = pytest.mark.e2e


async def test_the_catalogue_lists_the_function_as_registered(market: Market, function: BusinessFunction) -> None:
    """GET /idx/v1/businessFunctions shows the plugin's resources, roles, signed-delete rule and watermark defaults."""
    operator = market.operator
    response = await operator.http.get("/idx/v1/businessFunctions", headers=operator.headers())
    assert response.status_code == 200, response.text
    [entry] = [e for e in response.json()["data"] if e["businessFunctionId"] == function.id]
    assert entry["name"] == function.name
    assert [r["businessFunctionResourceId"] for r in entry["resources"]] == [r.id for r in function.resources]
    for shown, resource in zip(entry["resources"], function.resources, strict=True):
        assert shown["senderRoles"] == sorted(resource.sender_roles)
        assert shown["receiverRoles"] == sorted(resource.receiver_roles)
        assert shown["schemaVersions"] == list(resource.schema_versions)
        assert shown["signedDelete"] == resource.signed_delete
    marks = function.watermark_defaults
    assert entry["watermarkDefaults"] == {"low": marks.low, "warn": marks.warn, "high": marks.high}


async def test_an_accepted_message_arrives_in_every_recipients_queue_and_the_log(
    market: Market, function: BusinessFunction, sample: ConformanceSample
) -> None:
    """Routing: accepted → in each recipient's queue for the function's resource, and a completed log row each."""
    scene = await arrange(market, function)
    accepted(function, await submit(scene, sample.body(scene.parties)))
    resource = function.resources[0]
    for recipient in scene.recipients:
        items = await queue_items(scene.readers[recipient], function.id, resource.id, scene.sender, 1)
        assert len(items) == 1, f"nothing from {scene.sender} in {recipient}'s {function.id}/{resource.id} queue"
    log = await market.operator.http.get(
        "/idx/v1/translog",
        params={"businessFunctionId": function.id, "initiatingParticipantId": scene.sender, "status": "completed"},
        headers=market.operator.headers(),
    )
    assert sorted(row["receivingParticipantId"] for row in log.json()["data"]) == sorted(scene.recipients)


async def test_malformed_input_is_refused_over_http_naming_the_field(
    market: Market, function: BusinessFunction, sample: ConformanceSample
) -> None:
    """The refusal a participant receives names the broken field, and nothing reaches a queue: two copies of a good
    message sent after it are the first two items from the sender in each recipient's queue."""
    scene = await arrange(market, function)
    body, field = sample.malformed(scene.parties)
    assert field in http_refused_fields(function, await submit(scene, body))

    marker = sample.body(scene.parties)
    for _ in range(2):
        accepted(function, await submit(scene, marker))
    resource = function.resources[0]
    for recipient in scene.recipients:
        reader = scene.readers[recipient]
        items = await queue_items(reader, function.id, resource.id, scene.sender, 2)
        assert len(items) == 2, items
        # Had the refused one been queued, it would have come first, and differ from the copy after it.
        contents = []
        for item in items:
            fetched = await reader.fetch(item["messageContextId"], bf=function.id, resource=resource.id)
            assert fetched.status_code == 200, fetched.text
            contents.append(_without_versions(json.loads(fetched.content)))
        assert contents[0] == contents[1], contents


def _without_versions(value: Any) -> Any:
    """A document without what differs between two copies of one submission: its version and version time, and
    whether it created or modified (a recall plan)."""
    if isinstance(value, dict):
        return {k: _without_versions(v) for k, v in value.items() if "version" not in k.lower() and k != "Action"}
    if isinstance(value, list):
        return [_without_versions(v) for v in value]
    return value


async def test_a_token_without_the_entity_is_refused(market: Market, function: BusinessFunction) -> None:
    """Every call that needs the function's entity answers 403 to a valid token without it."""
    resource = function.resources[0]
    role = sorted(resource.sender_roles)[0]
    client = await market.participant("NOENT", [role], ["TLS_CERTIFICATE_MANAGEMENT"])
    listed = await client.http.get(f"/{function.id}/v1/{resource.id}", headers=client.headers())
    assert_problem(listed, 403)
    if resource.accepts_submissions:
        posted = await client.http.post(f"/{function.id}/v1/{resource.id}", content=b"{}", headers=client.headers())
        assert_problem(posted, 403)
    for operation in operations_of(function):
        call = client.http.get if operation.method == "GET" else client.http.post
        response = await call(operation.path, headers=client.headers())
        if operation.entity is not None:
            assert_problem(response, 403)
        else:
            assert response.status_code == 200, f"{operation.method} {operation.path}: {response.text}"
