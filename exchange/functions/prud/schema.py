"""The prudential publications (schema version 1.0) as msgspec types, and the one decoder of each resource.

Amounts are `Decimal`, read from the JSON text itself, so that the identities of API.md hold to the cent with no
binary rounding on the way. The types hold what JSON can carry; value rules (ranges, identities, codes) live in
`rules.py` so that every broken rule of a body is reported at once.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

import msgspec

from exchange.functions.envelope import Envelope

DAILY_TYPE = "PRUDENTIAL_DAILY"
CREDIT_TYPE = "CREDIT_SUPPORT"


class StatementLine(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """One invoice period's share of the cumulative estimated exposure (the Prudential Settlement Statement)."""

    market: str
    invoice_period: str
    days: int
    exposure: Decimal


class DetailValue(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """One input or output variable of the outstanding amount calculation, for a market and trading day."""

    market: str
    trading_date: date
    variable: str
    value: Decimal


class EstimationValue(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """One input of the estimation of a settlement input, and whether it was itself estimated."""

    market: str
    trading_date: date
    variable: str
    value: Decimal
    estimated: bool


class Parameters(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """The daily prudential monitoring parameters of one participant as at one date."""

    participant_id: str
    as_at_date: date
    calculation_type: str
    cumulative_estimated_exposure: Decimal
    invoiced_not_paid: Decimal
    prepayments: Decimal
    outstanding_amount: Decimal
    credit_limit: Decimal
    credit_support: Decimal
    trading_limit: Decimal
    trading_margin: Decimal
    settlement_statement: list[StatementLine] = []
    detail: list[DetailValue] = []
    estimation: list[EstimationValue] = []


class Instrument(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """A credit support instrument AEMO holds (Executed) or held (Returned, Drawn Down)."""

    instrument_id: str
    type: str
    amount: Decimal
    status: str
    effective_date: date
    expiry_date: date | None = None


class CreditLimit(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """A credit limit AEMO determined, in force from its effective date until the next one."""

    amount: Decimal
    effective_date: date


class CreditSupport(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """A participant's credit support instruments and credit limits, current and historic."""

    participant_id: str
    instruments: list[Instrument]
    credit_limits: list[CreditLimit]


class DailyTransaction(msgspec.Struct, rename="camel"):
    transaction_id: str
    transaction_type: Literal["PRUDENTIAL_DAILY"]
    transaction_date_time: str
    parameters: Parameters


class CreditTransaction(msgspec.Struct, rename="camel"):
    transaction_id: str
    transaction_type: Literal["CREDIT_SUPPORT"]
    transaction_date_time: str
    credit_support: CreditSupport


# Built once: msgspec compiles the type tree into the decoder.
DAILY_DECODER = msgspec.json.Decoder(Envelope[DailyTransaction])
CREDIT_DECODER = msgspec.json.Decoder(Envelope[CreditTransaction])
# Amounts written back as JSON numbers, as they were sent (msgspec writes a Decimal as a string by default).
ENCODER = msgspec.json.Encoder(decimal_format="number")
