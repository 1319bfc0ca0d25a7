"""Valid, realistic BPQD envelopes for tests, the README and the simulators."""

from __future__ import annotations

import math
import random
import uuid
from datetime import date, timedelta
from typing import Any

import msgspec

from exchange.functions.bpqd.nmi import nmi_checksum
from exchange.functions.bpqd.rules import MINUTES_PER_DAY, PHASE_NAMES
from exchange.functions.envelope import sample_header

# Each phase carries its own share of the load, so their daily profiles are shifted a little (radians).
_PHASE_OFFSETS = {"A": 0.0, "B": -0.4, "C": 0.3}


def sample_envelope(
    sender: str,
    recipients: list[str],
    *,
    priority: str = "Medium",
    nmis: int = 1,
    interval_length: int = 5,
    reading_date: str = "2026-07-01",
    seed: int = 0,
) -> dict[str, object]:
    """A valid BPQD envelope from `sender` to `recipients`: `nmis` NMIs, three phases each, for one day.

    The same arguments give the same envelope; vary `seed` for other NMIs, ids and readings.
    """
    rng = random.Random(seed)
    sent = (date.fromisoformat(reading_date) + timedelta(days=1)).isoformat() + "T09:00:00.000+10:00"
    header = sample_header(
        sender,
        recipients,
        "pqd",
        "bpqd",
        message_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        sent=sent,
        priority=priority,
    )
    details = [_nmi_detail(nmi, rng, interval_length, reading_date) for nmi in _nmis(rng, nmis)]
    transaction = {
        "transactionId": f"T{rng.getrandbits(48):012x}",
        "transactionType": "BasicPowerQualityData",
        "transactionDateTime": sent,
        "nmiDetails": details,
    }
    return {"data": {"header": header, "transactions": [transaction]}}


def sample_body(sender: str, recipients: list[str], **options: Any) -> bytes:
    """`sample_envelope` (with the same keyword options) encoded as the JSON bytes a participant would sign and send."""
    return msgspec.json.encode(sample_envelope(sender, recipients, **options))


def _nmis(rng: random.Random, count: int) -> list[str]:
    # Distinct NMIs in the style of an Ausgrid range ("6001" + six digits).
    numbers = rng.sample(range(1_000_000), count)
    return [f"6001{number:06d}" for number in numbers]


def _nmi_detail(nmi: str, rng: random.Random, interval_length: int, reading_date: str) -> dict[str, object]:
    count = MINUTES_PER_DAY // interval_length
    peak_current = rng.uniform(5.0, 40.0)
    return {
        "nmi": nmi,
        "nmiChecksum": nmi_checksum(nmi),
        "meterSerialNumber": f"M{rng.randrange(1_000_000):06d}",
        "readingDate": reading_date,
        "intervalLength": interval_length,
        "phases": [_phase(name, rng, count, peak_current) for name in PHASE_NAMES],
    }


def _phase(name: str, rng: random.Random, count: int, peak_current: float) -> dict[str, object]:
    voltage, current, angle = [], [], []
    for interval in range(count):
        # Load peaks in the evening; voltage sags a little as load rises.
        hour = 24.0 * interval / count
        load = 0.55 + 0.45 * math.sin(math.pi * (hour - 12.0) / 12.0 + _PHASE_OFFSETS[name])
        amps = max(0.1, peak_current * load + rng.gauss(0.0, 0.3))
        current.append(round(amps, 2))
        voltage.append(round(247.0 - 0.12 * amps + rng.gauss(0.0, 1.2), 1))
        angle.append(round(min(45.0, max(-10.0, 18.0 - 8.0 * load + rng.gauss(0.0, 2.0))), 1))
    return {"phase": name, "voltage": voltage, "current": current, "phaseAngle": angle, "qualityFlag": "A"}
