"""Valid prudential publications for tests, the README, `idx sample` and the simulator.

Figures are made in whole cents and the identities of API.md are computed, never typed, so every sample holds
them exactly.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from exchange.functions.envelope import sample_header
from exchange.functions.prud.schema import CREDIT_TYPE, DAILY_TYPE, ENCODER

# The variables of the outstanding amount calculation a detail file carries per market and trading day.
DETAIL_VARIABLES = {
    "Non-STEM": ("MeteredEnergyMWh", "EnergyPrice", "CapacityCredits", "NonStemSettlementAmount"),
    "STEM": ("StemQuantityMWh", "StemClearingPrice", "StemSettlementAmount"),
}
ESTIMATION_VARIABLES = ("MeteredEnergyMWh", "LoadFollowingMWh")


def _cents(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randrange(low * 100, high * 100)) / 100


def sample_parameters(
    participant_id: str,
    as_at_date: str = "2026-07-01",
    *,
    calculation_type: str = "Current",
    seed: int = 0,
    invoiced_not_paid: Decimal | None = None,
    prepayments: Decimal | None = None,
    exposed_days: int = 3,
) -> dict[str, Any]:
    """One participant's daily parameters as at a date, with a settlement statement, detail and estimation."""
    rng = random.Random(f"{participant_id}:{as_at_date}:{calculation_type}:{seed}")
    as_at = date.fromisoformat(as_at_date)
    credit_support = _cents(rng, 2_000_000, 5_000_000)
    credit_limit = credit_support
    # WEM Rules 2.39.1: the trading limit is 87% of the credit support held.
    trading_limit = (credit_support * Decimal("0.87")).quantize(Decimal("0.01"))
    exposure = _cents(rng, 300_000, 1_500_000)
    # Drawn even when given, so that an hourly update changes these two and nothing else of the day's figures.
    invoiced, prepaid = _cents(rng, 0, 400_000), _cents(rng, 0, 100_000)
    invoiced = invoiced_not_paid if invoiced_not_paid is not None else invoiced
    prepaid = prepayments if prepayments is not None else prepaid
    outstanding = exposure + invoiced - prepaid
    days = [as_at - timedelta(days=offset) for offset in range(exposed_days, 0, -1)]
    detail = [
        {"market": market, "tradingDate": day.isoformat(), "variable": variable, "value": _cents(rng, 0, 50_000)}
        for day in days
        for market, variables in DETAIL_VARIABLES.items()
        for variable in variables
    ]
    estimation = [
        {
            "market": "Non-STEM",
            "tradingDate": day.isoformat(),
            "variable": variable,
            "value": _cents(rng, 0, 5_000),
            "estimated": rng.random() < 0.5,
        }
        for day in days
        for variable in ESTIMATION_VARIABLES
    ]
    stem_exposure = (exposure * Decimal("0.1")).quantize(Decimal("0.01"))
    week = as_at.isocalendar().week
    statement = [
        {"market": "Non-STEM", "invoicePeriod": as_at.strftime("%Y-%m"), "days": exposed_days,
         "exposure": exposure - stem_exposure},
        {"market": "STEM", "invoicePeriod": f"TW {week}/{as_at:%y}", "days": min(exposed_days, 7),
         "exposure": stem_exposure},
    ]  # fmt: skip
    return {
        "participantId": participant_id,
        "asAtDate": as_at.isoformat(),
        "calculationType": calculation_type,
        "cumulativeEstimatedExposure": exposure,
        "invoicedNotPaid": invoiced,
        "prepayments": prepaid,
        "outstandingAmount": outstanding,
        "creditLimit": credit_limit,
        "creditSupport": credit_support,
        "tradingLimit": trading_limit,
        "tradingMargin": trading_limit - outstanding,
        "settlementStatement": statement,
        "detail": detail,
        "estimation": estimation,
    }


def sample_credit_support(participant_id: str, *, start: str = "2026-01-01", seed: int = 0) -> dict[str, Any]:
    """A participant's instruments (one executed, one returned) and two credit limits, the later one current."""
    rng = random.Random(f"{participant_id}:credit:{seed}")
    first = date.fromisoformat(start)
    executed, returned = first + timedelta(days=150), first
    return {
        "participantId": participant_id,
        "instruments": [
            _instrument(f"BG-{participant_id}-1", "Bank Guarantee", _cents(rng, 1_000_000, 3_000_000), "Returned",
                        returned, returned + timedelta(days=180)),
            _instrument(f"BG-{participant_id}-2", "Bank Guarantee", _cents(rng, 2_000_000, 5_000_000), "Executed",
                        executed, executed + timedelta(days=365)),
            _instrument(f"SD-{participant_id}-1", "Security Deposit", _cents(rng, 50_000, 200_000), "Executed",
                        first, None),
        ],
        "creditLimits": [
            {"amount": _cents(rng, 1_000_000, 3_000_000), "effectiveDate": first.isoformat()},
            {"amount": _cents(rng, 2_000_000, 5_000_000), "effectiveDate": executed.isoformat()},
        ],
    }  # fmt: skip


def _instrument(
    instrument_id: str, kind: str, amount: Decimal, status: str, effective: date, expiry: date | None
) -> dict[str, Any]:
    return {
        "instrumentId": instrument_id,
        "type": kind,
        "amount": amount,
        "status": status,
        "effectiveDate": effective.isoformat(),
        "expiryDate": expiry.isoformat() if expiry else None,
    }


def envelope(
    sender: str, recipients: list[str], resource: str, transactions: list[dict[str, Any]], *,
    priority: str = "Medium", sent: str = "2026-07-01T12:00:00.000+08:00", seed: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """An IDX envelope of a `prud` resource around the transactions' content."""
    rng = random.Random(f"{sender}:{resource}:{seed}:{sent}")
    transaction_type, key = (DAILY_TYPE, "parameters") if resource == "daily" else (CREDIT_TYPE, "creditSupport")
    header = sample_header(
        sender,
        recipients,
        "prud",
        resource,
        message_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        sent=sent,
        priority=priority,
        market="WAELEC",
    )
    return {
        "data": {
            "header": header,
            "transactions": [
                {
                    "transactionId": f"T{rng.getrandbits(48):012x}",
                    "transactionType": transaction_type,
                    "transactionDateTime": sent,
                    key: content,
                }
                for content in transactions
            ],
        }
    }


def daily_body(sender: str, recipients: list[str], **options: Any) -> bytes:
    """A `daily` publication from the operator to the one participant it is about (the first recipient)."""
    priority = options.pop("priority", "Medium")
    parameters = sample_parameters(recipients[0] if recipients else "MP1", **options)
    sent = f"{parameters['asAtDate']}T12:00:00.000+08:00"
    return ENCODER.encode(envelope(sender, recipients, "daily", [parameters], priority=priority, sent=sent))


def credit_body(sender: str, recipients: list[str], **options: Any) -> bytes:
    """A `credit` publication from the operator to the one participant it is about (the first recipient)."""
    priority = options.pop("priority", "Medium")
    credit = sample_credit_support(recipients[0] if recipients else "MP1", **options)
    return ENCODER.encode(envelope(sender, recipients, "credit", [credit], priority=priority))
