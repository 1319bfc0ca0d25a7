"""Standing data with two generators' DUIDs, and the bid operations on in-memory services."""

from __future__ import annotations

import pytest

from exchange.functions.bids.service import EnergyBids
from tests.conformance.fakes import FakeServices, FakeStandingData, two_generators


@pytest.fixture
def standing() -> FakeStandingData:
    """GEN1 owns DUID1 (400 MW) and DUID2 (300 MW); GEN2 owns DUID3."""
    return two_generators(duid1_mw=400.0)


@pytest.fixture
def services(standing: FakeStandingData) -> FakeServices:
    return FakeServices(standing)


@pytest.fixture
def bids(services: FakeServices) -> EnergyBids:
    return EnergyBids(services)
