"""The BPQD transaction (schema version 1.0) as msgspec types, and the one decoder of a BPQD body.

The types hold what JSON can carry; value rules (ranges, counts, codes) live in `rules.py` so that every
broken rule of a body is reported at once, not only the first one msgspec meets.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import msgspec

from exchange.functions.envelope import Envelope


class Phase(msgspec.Struct, rename="camel"):
    """One phase's readings over the day, one value per interval (null only under quality flag N)."""

    phase: str
    voltage: list[float | None]
    current: list[float | None]
    phase_angle: list[float | None]
    quality_flag: str


class NmiDetail(msgspec.Struct, rename="camel"):
    """One NMI over one day."""

    nmi: str
    meter_serial_number: str
    reading_date: date
    interval_length: int
    phases: list[Phase]
    nmi_checksum: str | None = None


class Transaction(msgspec.Struct, rename="camel"):
    """One BasicPowerQualityData transaction of an envelope."""

    transaction_id: str
    transaction_type: Literal["BasicPowerQualityData"]
    transaction_date_time: str
    nmi_details: list[NmiDetail]


# Built once: msgspec compiles the type tree into the decoder.
DECODER = msgspec.json.Decoder(Envelope[Transaction])
