"""The business functions under test: every plugin registered under `exchange.functions`, with the sample it brings."""

from __future__ import annotations

import os

import pytest

from exchange.functions.conformance import ConformanceSample
from exchange.functions.protocol import BusinessFunction
from exchange.functions.registry import Registry
from tests.conformance.fakes import FakeStandingData
from tests.conformance.samples import Scene, sample_of

# The exchange of a module and its market, as the end-to-end tests have them: the exchange journeys run on them.
from tests.e2e.conftest import market, operator, server  # noqa: F401

# The installed plugins and any named in IDX_PLUGINS (which `idx serve` started by the suite loads too).
REGISTRY = Registry.from_entry_points(os.environ.get("IDX_PLUGINS", "").split())
FUNCTION_IDS = [function.id for function in REGISTRY]


@pytest.fixture(params=FUNCTION_IDS)
def function(request: pytest.FixtureRequest) -> BusinessFunction:
    """Each registered business function in turn."""
    return REGISTRY.function(request.param)


@pytest.fixture
def sample(function: BusinessFunction) -> ConformanceSample:
    return sample_of(function)


@pytest.fixture
def scene(function: BusinessFunction) -> Scene:
    """In-process parties: standing data where the sender owns DUID1 (700 MW), participants by role."""
    resource = function.resources[0]
    standing = FakeStandingData()
    sender, recipient = "SENDER1", "RECEIVER1"
    standing.participants[sender] = frozenset(resource.sender_roles)
    standing.participants[recipient] = frozenset(resource.receiver_roles)
    standing.add_unit("DUID1", sender, "STATION1", 700.0)
    standing.participants[sender] = frozenset(resource.sender_roles)
    return Scene(function, sender, [recipient], standing=standing)
