"""Standing data with two generators' DUIDs, and the recall web services on in-memory services."""

from __future__ import annotations

import pytest

from tests.conformance.fakes import FakeStandingData, two_generators


@pytest.fixture
def standing() -> FakeStandingData:
    """GEN1 owns DUID1 (700 MW at STATION1) and DUID2 (300 MW at STATION2); GEN2 owns DUID3."""
    return two_generators(duid1_mw=700.0)
