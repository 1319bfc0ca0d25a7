"""Every registered business function keeps the plugin contract, checked in-process (no server)."""

from __future__ import annotations

import json
import re

from exchange.functions.protocol import BusinessFunction
from exchange.functions.services import Operation, ServesOperations
from tests.conformance.conftest import REGISTRY
from tests.conformance.fakes import FakeServices
from tests.conformance.samples import SAMPLES, Sample, Scene

FUNCTION_ID = re.compile(r"^[0-9a-z]{1,4}$")
RESOURCE_ID = re.compile(r"^[0-9a-z]{1,8}$")
ROLES = {"MC", "MDP", "LNSP", "GENERATOR", "OPERATOR"}
ENTITIES = {"PQD_BPQD", "GR_RECALL", "BID_ENERGY"}


def operations_of(function: BusinessFunction) -> list[Operation]:
    if isinstance(function, ServesOperations):
        return list(function.operations(FakeServices()))
    return []


def test_every_registered_function_has_a_sample() -> None:
    """A new plugin inherits this suite by being registered and giving a sample."""
    assert {f.id for f in REGISTRY} <= set(SAMPLES)
    assert {"pqd", "gr", "bid"} <= {f.id for f in REGISTRY}


def test_the_catalogue_entry_is_sane(function: BusinessFunction) -> None:
    """Ids of IDX's forms, known roles on both sides, schema versions, retention and watermarks in order."""
    assert FUNCTION_ID.match(function.id) and function.name.strip()
    assert function.entity in ENTITIES
    assert function.resources
    for resource in function.resources:
        assert RESOURCE_ID.match(resource.id)
        assert resource.sender_roles and resource.sender_roles <= ROLES
        assert resource.receiver_roles and resource.receiver_roles <= ROLES
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


def test_a_valid_sample_round_trips_through_the_schema(sample: Sample, scene: Scene) -> None:
    """The plugin reads its sample and writes back the same JSON."""
    body = sample.body(scene)
    assert sample.refused_fields(scene, body) == []
    assert sample.round_trip(scene, body) == json.loads(body)


def test_malformed_input_is_refused_naming_the_field(sample: Sample, scene: Scene) -> None:
    """A body breaking one rule is refused, and the refusal names the field."""
    body, field = sample.malformed(scene)
    assert field in sample.refused_fields(scene, body)
