"""Every registered business function keeps the plugin contract, checked in-process (no server)."""

from __future__ import annotations

import json
import re

from exchange.functions.conformance import ConformanceSample, HasConformanceSample
from exchange.functions.protocol import BusinessFunction
from exchange.functions.services import Operation, ServesOperations
from exchange.services.access import CORE_ENTITIES
from tests.conformance.conftest import REGISTRY
from tests.conformance.fakes import FakeServices
from tests.conformance.samples import Scene

FUNCTION_ID = re.compile(r"^[0-9a-z]{1,4}$")
RESOURCE_ID = re.compile(r"^[0-9a-z]{1,8}$")
# A URM entity: the function's and the resource's names in capitals, e.g. `PQD_BPQD`, or one name where API.md
# gives one (`PRUDENTIAL`).
ENTITY = re.compile(r"^[A-Z0-9]+(_[A-Z0-9_]+)?$")
ROLE = re.compile(r"^[A-Z][A-Z0-9_]*$")


def operations_of(function: BusinessFunction) -> list[Operation]:
    if isinstance(function, ServesOperations):
        return list(function.operations(FakeServices()))
    return []


def test_every_registered_function_brings_a_sample() -> None:
    """A new plugin inherits this suite by being registered and bringing its `conformance` sample."""
    assert all(isinstance(f, HasConformanceSample) for f in REGISTRY)
    assert {"pqd", "gr", "bid", "prud"} <= {f.id for f in REGISTRY}


def test_entities_are_the_functions_own() -> None:
    """No two functions share an entity, and none takes one of the core's."""
    entities = [f.entity for f in REGISTRY]
    assert len(entities) == len(set(entities))
    assert not set(entities) & set(CORE_ENTITIES)


def test_the_catalogue_entry_is_sane(function: BusinessFunction) -> None:
    """Ids of IDX's forms, known roles on both sides, schema versions, retention and watermarks in order."""
    assert FUNCTION_ID.match(function.id) and function.name.strip()
    assert ENTITY.match(function.entity)
    assert function.resources
    for resource in function.resources:
        assert RESOURCE_ID.match(resource.id)
        assert resource.sender_roles and all(ROLE.match(role) for role in resource.sender_roles)
        assert resource.receiver_roles and all(ROLE.match(role) for role in resource.receiver_roles)
        assert resource.schema_versions and all(v.strip() for v in resource.schema_versions)
        assert resource.retention_days > 0 and resource.queue_retention_days > 0
    marks = function.watermark_defaults
    assert 0 <= marks.low < marks.warn < marks.high


def test_operations_are_mounted_apart_from_the_message_calls(function: BusinessFunction) -> None:
    """Operations have distinct paths outside `/{bf}/v1/{resource}`; only an envelope-less resource lacks the POST."""
    operations = operations_of(function)
    paths = [(op.method, op.path) for op in operations]
    assert len(paths) == len(set(paths))
    for op in operations:
        assert op.path.startswith("/") and op.summary.strip()
        assert op.entity in (None, function.entity)
        for resource in function.resources:
            assert not op.path.startswith(f"/{function.id}/v1/{resource.id}")
    if not operations:
        assert all(resource.accepts_submissions for resource in function.resources)


def test_a_valid_sample_round_trips_through_the_schema(sample: ConformanceSample, scene: Scene) -> None:
    """The plugin reads its sample and writes back the same JSON."""
    body = sample.body(scene.parties)
    assert sample.refused_fields(scene.parties, body, scene.standing) == []
    assert sample.round_trip(scene.parties, body, scene.standing) == json.loads(body)


def test_malformed_input_is_refused_naming_the_field(sample: ConformanceSample, scene: Scene) -> None:
    """A body breaking one rule is refused, and the refusal names the field."""
    body, field = sample.malformed(scene.parties)
    assert field in sample.refused_fields(scene.parties, body, scene.standing)
