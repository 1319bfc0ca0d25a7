"""The SSM indicative rolls (schema version 1.0) as msgspec types, and the one decoder of each resource's body.

Times stay the strings the operator wrote, so that a roll reads back exactly as signed; `rules.py` checks that
they are timestamps on the right boundaries, and every range, so that all broken rules are named at once.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from exchange.functions.envelope import Envelope

DUID_ROLL: Final = "SSM_INDICATIVE_ROLL_DUID"
REGION_ROLL: Final = "SSM_INDICATIVE_ROLL_REGION"


class DuidRow(msgspec.Struct, rename="camel"):
    """One DUID's enablement for one interval, as one run of the scheduler saw it."""

    run_date_time: str
    duid: str
    interval_date_time: str
    enablement_status: str
    enablement_mw: float = msgspec.field(name="enablementMW")


class RegionRow(msgspec.Struct, rename="camel"):
    """One region's requirement and enabled total for one interval, as one run saw it."""

    run_date_time: str
    region_id: str
    interval_date_time: str
    requirement_mw: float = msgspec.field(name="requirementMW")
    enabled_mw: float = msgspec.field(name="enabledMW")


class DuidTransaction(msgspec.Struct, rename="camel", omit_defaults=True):
    transaction_type: str
    rows: list[DuidRow]
    transaction_id: str | None = None
    transaction_date_time: str | None = None


class RegionTransaction(msgspec.Struct, rename="camel", omit_defaults=True):
    transaction_type: str
    rows: list[RegionRow]
    transaction_id: str | None = None
    transaction_date_time: str | None = None


# Built once: msgspec compiles the type tree into the decoder.
DUID_DECODER = msgspec.json.Decoder(Envelope[DuidTransaction])
REGION_DECODER = msgspec.json.Decoder(Envelope[RegionTransaction])
DECODERS: Final[dict[str, msgspec.json.Decoder[Any]]] = {"duid": DUID_DECODER, "region": REGION_DECODER}
ROLL_TYPES: Final = {"duid": DUID_ROLL, "region": REGION_ROLL}
