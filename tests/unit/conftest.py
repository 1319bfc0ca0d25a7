"""The plugin operations on in-memory services, over the `standing` data that each plugin's tests define."""

from __future__ import annotations

import pytest

from exchange.functions.bids.service import EnergyBids
from exchange.functions.recall.service import RecallPlans
from tests.conformance.fakes import FakeServices, FakeStandingData


@pytest.fixture
def services(standing: FakeStandingData) -> FakeServices:
    return FakeServices(standing)


@pytest.fixture
def bids(services: FakeServices) -> EnergyBids:
    return EnergyBids(services)


@pytest.fixture
def plans(services: FakeServices) -> RecallPlans:
    return RecallPlans(services)
