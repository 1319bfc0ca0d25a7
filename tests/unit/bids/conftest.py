"""Standing data with two generators' DUIDs, and the bid operations on in-memory services."""

from __future__ import annotations

import pytest

from exchange.functions.bids.service import EnergyBids
from tests.conformance.fakes import FakeServices, FakeStandingData


@pytest.fixture
def standing() -> FakeStandingData:
    """GEN1 owns DUID1 (400 MW) and DUID2 (300 MW); GEN2 owns DUID3."""
    data = FakeStandingData()
    data.add_unit("DUID1", "GEN1", "STATION1", 400.0)
    data.add_unit("DUID2", "GEN1", "STATION2", 300.0)
    data.add_unit("DUID3", "GEN2", "STATION3", 500.0)
    data.participants["OPERATOR"] = frozenset({"OPERATOR"})
    return data


@pytest.fixture
def services(standing: FakeStandingData) -> FakeServices:
    return FakeServices(standing)


@pytest.fixture
def bids(services: FakeServices) -> EnergyBids:
    return EnergyBids(services)
