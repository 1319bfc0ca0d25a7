"""Standing data with two generators' DUIDs, and the bid operations on in-memory services."""

from __future__ import annotations

import pytest

from tests.conformance.fakes import FakeStandingData, two_generators


@pytest.fixture
def standing() -> FakeStandingData:
    """GEN1 owns DUID1 (400 MW) and DUID2 (300 MW); GEN2 owns DUID3."""
    return two_generators(duid1_mw=400.0)
