"""The sample envelopes used by tests, the README and the simulators."""

from __future__ import annotations

from typing import Any

import msgspec

from exchange.functions.bpqd.nmi import NMI_PATTERN, nmi_checksum
from exchange.functions.bpqd.sample import sample_body, sample_envelope


def details(envelope: dict[str, Any]) -> list[dict[str, Any]]:
    return envelope["data"]["transactions"][0]["nmiDetails"]  # type: ignore[no-any-return]


def test_same_arguments_give_the_same_envelope() -> None:
    """A sample is reproducible from its seed, and another seed gives other readings."""
    assert sample_envelope("MDP1", ["LNSP1"], seed=7) == sample_envelope("MDP1", ["LNSP1"], seed=7)
    assert sample_envelope("MDP1", ["LNSP1"], seed=7) != sample_envelope("MDP1", ["LNSP1"], seed=8)


def test_sample_nmis_are_distinct_and_carry_their_checksum() -> None:
    """Each NMI detail has its own well-formed NMI with the right checksum digit."""
    nmis = [detail["nmi"] for detail in details(sample_envelope("MDP1", ["LNSP1"], nmis=20))]
    assert len(set(nmis)) == 20
    for detail in details(sample_envelope("MDP1", ["LNSP1"], nmis=20)):
        assert NMI_PATTERN.fullmatch(detail["nmi"])
        assert detail["nmiChecksum"] == nmi_checksum(detail["nmi"])


def test_sample_readings_are_plausible() -> None:
    """Three phases of mains voltage around 230-250 V, small positive currents and moderate angles."""
    [detail] = details(sample_envelope("MDP1", ["LNSP1"], interval_length=15))
    assert [phase["phase"] for phase in detail["phases"]] == ["A", "B", "C"]
    for phase in detail["phases"]:
        assert len(phase["voltage"]) == len(phase["current"]) == len(phase["phaseAngle"]) == 96
        assert all(225 <= value <= 255 for value in phase["voltage"])
        assert all(0 < value < 100 for value in phase["current"])
        assert all(-45 <= value <= 45 for value in phase["phaseAngle"])


def test_sample_body_is_the_encoded_envelope() -> None:
    """sample_body is sample_envelope as JSON bytes."""
    body = sample_body("MC1", ["LNSP1", "LNSP2"], priority="Low", seed=3)
    assert msgspec.json.decode(body) == sample_envelope("MC1", ["LNSP1", "LNSP2"], priority="Low", seed=3)
