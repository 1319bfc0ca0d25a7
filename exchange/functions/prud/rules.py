"""The rules of a prudential publication, each broken rule named by its path from the body root.

The identities are API.md's, checked exactly in `Decimal`: `outstandingAmount = cumulativeEstimatedExposure +
invoicedNotPaid - prepayments` and `tradingMargin = tradingLimit - outstandingAmount`. Every amount is a whole
number of cents within a range, every string has a form and a length, every list a bound.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import TypeVar

from exchange.functions.envelope import is_timestamp, shown
from exchange.functions.errors import FieldError
from exchange.functions.prud.schema import (
    CreditSupport,
    CreditTransaction,
    DailyTransaction,
    DetailValue,
    EstimationValue,
    Parameters,
    StatementLine,
)

# A publication's transaction: each kind has its id and time, and content of its own.
T = TypeVar("T", DailyTransaction, CreditTransaction)
PARTICIPANT_ID = re.compile(r"^[A-Z0-9]{1,10}$")
CALCULATION_TYPES = ("Current", "Forecast")
MARKETS = ("STEM", "Non-STEM")
INSTRUMENT_TYPES = ("Bank Guarantee", "Security Deposit")
INSTRUMENT_STATUSES = ("Executed", "Returned", "Drawn Down")
# A Non-STEM invoice period is a calendar month; a STEM one a trading week, as the seed writes it (`TW 31/20`).
INVOICE_PERIODS = {
    "Non-STEM": re.compile(r"^\d{4}-(0[1-9]|1[0-2])$"),
    "STEM": re.compile(r"^TW ([1-9]|[1-4]\d|5[0-3])/\d{2}$"),
}
MOST_DAYS = {"Non-STEM": 31, "STEM": 7}
VARIABLE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
INSTRUMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_/-]{0,39}$")
# Dollars: a hundred billion either way is beyond any participant's position, and cents are the unit.
MOST_AMOUNT = Decimal("100000000000")
CENT = Decimal("0.01")
# A detail value is a quantity, a price or an amount: the same bound, six decimal places.
MOST_DECIMALS_OF_VALUE = 6
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
# The exposed period reaches back a little over a year (the WEMS guide shows 64 days on 4 August); a forecast
# a month ahead.
EXPOSED_BEFORE = timedelta(days=400)
FORECAST_AHEAD = timedelta(days=31)
MOST_STATEMENT_LINES = 100
MOST_VALUES = 50_000
MOST_INSTRUMENTS = 500
MOST_CREDIT_LIMITS = 500
MAX_TRANSACTION_ID_LENGTH = 100
# Amounts a participant cannot owe the other way: what it holds or AEMO allows it.
NOT_NEGATIVE = ("prepayments", "creditLimit", "creditSupport", "tradingLimit")


def daily_errors(transactions: Sequence[DailyTransaction], recipients: Sequence[str]) -> Iterator[FieldError]:
    """Every broken rule of the transactions of a `daily` publication to `recipients`."""
    yield from _publication_errors(
        transactions, lambda daily, path: parameters_errors(daily.parameters, f"{path}.parameters", recipients)
    )


def credit_errors(transactions: Sequence[CreditTransaction], recipients: Sequence[str]) -> Iterator[FieldError]:
    """Every broken rule of the transactions of a `credit` publication to `recipients`."""
    yield from _publication_errors(
        transactions,
        lambda credit, path: credit_support_errors(credit.credit_support, f"{path}.creditSupport", recipients),
    )


def _publication_errors(
    transactions: Sequence[T], content_errors: Callable[[T, str], Iterator[FieldError]]
) -> Iterator[FieldError]:
    """The rules of every publication: at least one transaction, each with its id and time, and its own content."""
    if not transactions:
        yield FieldError("data.transactions", "holds no transaction")
    for index, transaction in enumerate(transactions):
        path = f"data.transactions[{index}]"
        yield from _transaction_errors(transaction.transaction_id, transaction.transaction_date_time, path)
        yield from content_errors(transaction, path)


def recipient_errors(recipients: Sequence[str]) -> Iterator[FieldError]:
    """A publication about one participant goes to that participant alone."""
    if len(recipients) > 1:
        yield FieldError(
            "data.header.receivingParticipantId",
            "names more than one participant; prudential data goes only to the participant it is about",
        )


def parameters_errors(parameters: Parameters, path: str, recipients: Sequence[str]) -> Iterator[FieldError]:
    """The broken rules of one participant's daily parameters found at `path`."""
    yield from _participant_errors(parameters.participant_id, f"{path}.participantId", recipients)
    yield from _date_errors(parameters.as_at_date, f"{path}.asAtDate")
    if parameters.calculation_type not in CALCULATION_TYPES:
        yield FieldError(
            f"{path}.calculationType", f"{shown(parameters.calculation_type)!r} is not Current or Forecast"
        )
    amounts = {
        "cumulativeEstimatedExposure": parameters.cumulative_estimated_exposure,
        "invoicedNotPaid": parameters.invoiced_not_paid,
        "prepayments": parameters.prepayments,
        "outstandingAmount": parameters.outstanding_amount,
        "creditLimit": parameters.credit_limit,
        "creditSupport": parameters.credit_support,
        "tradingLimit": parameters.trading_limit,
        "tradingMargin": parameters.trading_margin,
    }
    wrong = set()
    for name, amount in amounts.items():
        for error in amount_errors(amount, f"{path}.{name}", negative=name not in NOT_NEGATIVE):
            wrong.add(name)
            yield error
    # The identities only mean something between amounts that are themselves right.
    if not wrong & {"cumulativeEstimatedExposure", "invoicedNotPaid", "prepayments", "outstandingAmount"}:
        owed = parameters.cumulative_estimated_exposure + parameters.invoiced_not_paid - parameters.prepayments
        if parameters.outstanding_amount != owed:
            wrong.add("outstandingAmount")
            yield FieldError(
                f"{path}.outstandingAmount",
                f"{parameters.outstanding_amount} is not cumulativeEstimatedExposure + invoicedNotPaid - prepayments"
                f" = {owed}",
            )
    if not wrong & {"tradingLimit", "outstandingAmount", "tradingMargin"}:
        margin = parameters.trading_limit - parameters.outstanding_amount
        if parameters.trading_margin != margin:
            yield FieldError(
                f"{path}.tradingMargin",
                f"{parameters.trading_margin} is not tradingLimit - outstandingAmount = {margin}",
            )
    yield from _statement_errors(parameters.settlement_statement, f"{path}.settlementStatement")
    yield from _values_errors(parameters.detail, f"{path}.detail", parameters.as_at_date)
    yield from _values_errors(parameters.estimation, f"{path}.estimation", parameters.as_at_date)


def credit_support_errors(credit: CreditSupport, path: str, recipients: Sequence[str]) -> Iterator[FieldError]:
    """The broken rules of one participant's credit support found at `path`."""
    yield from _participant_errors(credit.participant_id, f"{path}.participantId", recipients)
    if len(credit.instruments) > MOST_INSTRUMENTS:
        yield FieldError(f"{path}.instruments", f"holds more than {MOST_INSTRUMENTS} instruments")
    seen: set[str] = set()
    for index, instrument in enumerate(credit.instruments[:MOST_INSTRUMENTS]):
        at = f"{path}.instruments[{index}]"
        if not INSTRUMENT_ID.fullmatch(instrument.instrument_id):
            yield FieldError(f"{at}.instrumentId", "must be 1 to 40 letters, digits, '-', '_' or '/'")
        elif instrument.instrument_id in seen:
            yield FieldError(f"{at}.instrumentId", f"{instrument.instrument_id} appears more than once")
        seen.add(instrument.instrument_id)
        if instrument.type not in INSTRUMENT_TYPES:
            yield FieldError(f"{at}.type", f"{shown(instrument.type)!r} is not Bank Guarantee or Security Deposit")
        yield from amount_errors(instrument.amount, f"{at}.amount", negative=False)
        if instrument.status not in INSTRUMENT_STATUSES:
            yield FieldError(f"{at}.status", f"{shown(instrument.status)!r} is not Executed, Returned or Drawn Down")
        yield from _date_errors(instrument.effective_date, f"{at}.effectiveDate")
        if instrument.expiry_date is not None:
            yield from _date_errors(instrument.expiry_date, f"{at}.expiryDate")
            if instrument.expiry_date < instrument.effective_date:
                yield FieldError(f"{at}.expiryDate", "is before the effective date")
    if len(credit.credit_limits) > MOST_CREDIT_LIMITS:
        yield FieldError(f"{path}.creditLimits", f"holds more than {MOST_CREDIT_LIMITS} credit limits")
    effective: set[date] = set()
    for index, limit in enumerate(credit.credit_limits[:MOST_CREDIT_LIMITS]):
        at = f"{path}.creditLimits[{index}]"
        yield from amount_errors(limit.amount, f"{at}.amount", negative=False)
        yield from _date_errors(limit.effective_date, f"{at}.effectiveDate")
        # A limit applies from its effective date until the next: two on one date would leave it undecided.
        if limit.effective_date in effective:
            yield FieldError(f"{at}.effectiveDate", f"another credit limit is effective on {limit.effective_date}")
        effective.add(limit.effective_date)


def amount_errors(amount: Decimal, path: str, *, negative: bool) -> Iterator[FieldError]:
    """An amount of dollars: finite, whole cents, within the range (and not below zero unless `negative`)."""
    if not amount.is_finite():
        yield FieldError(path, "must be a finite number")
        return
    low = -MOST_AMOUNT if negative else Decimal(0)
    if not low <= amount <= MOST_AMOUNT:
        yield FieldError(path, f"{amount} is outside {low} to {MOST_AMOUNT}")
    elif amount != amount.quantize(CENT):
        yield FieldError(path, f"{amount} has more than 2 decimal places (amounts are in dollars and cents)")


def _participant_errors(participant_id: str, path: str, recipients: Sequence[str]) -> Iterator[FieldError]:
    if not PARTICIPANT_ID.fullmatch(participant_id):
        yield FieldError(path, f"{shown(participant_id)!r} is not a participant id (1 to 10 capitals or digits)")
    elif list(recipients) != [participant_id]:
        yield FieldError(
            path,
            f"{participant_id} is not the one receiver of the publication; it goes only to the participant it is about",
        )


def _date_errors(day: date, path: str) -> Iterator[FieldError]:
    if not EARLIEST <= day <= LATEST:
        yield FieldError(path, f"{day} is outside {EARLIEST} to {LATEST}")


def _transaction_errors(transaction_id: str, transaction_date_time: str, path: str) -> Iterator[FieldError]:
    if not transaction_id.strip() or len(transaction_id) > MAX_TRANSACTION_ID_LENGTH:
        yield FieldError(f"{path}.transactionId", f"must be 1 to {MAX_TRANSACTION_ID_LENGTH} characters")
    if not is_timestamp(transaction_date_time):
        yield FieldError(f"{path}.transactionDateTime", "must be an ISO 8601 timestamp with an offset")


def _statement_errors(lines: Sequence[StatementLine], path: str) -> Iterator[FieldError]:
    if len(lines) > MOST_STATEMENT_LINES:
        yield FieldError(path, f"holds more than {MOST_STATEMENT_LINES} invoice periods")
    seen: set[tuple[str, str]] = set()
    for index, line in enumerate(lines[:MOST_STATEMENT_LINES]):
        at = f"{path}[{index}]"
        if line.market not in MARKETS:
            yield FieldError(f"{at}.market", f"{shown(line.market)!r} is not STEM or Non-STEM")
            continue
        if not INVOICE_PERIODS[line.market].fullmatch(line.invoice_period):
            form = "YYYY-MM" if line.market == "Non-STEM" else "TW week/yy (e.g. TW 31/20)"
            yield FieldError(
                f"{at}.invoicePeriod", f"{shown(line.invoice_period)!r} is not a {line.market} invoice period ({form})"
            )
        elif (line.market, line.invoice_period) in seen:
            yield FieldError(f"{at}.invoicePeriod", f"{line.market} {line.invoice_period} appears more than once")
        seen.add((line.market, line.invoice_period))
        if not 1 <= line.days <= MOST_DAYS[line.market]:
            yield FieldError(f"{at}.days", f"{line.days} is outside 1 to {MOST_DAYS[line.market]}")
        yield from amount_errors(line.exposure, f"{at}.exposure", negative=True)


def _values_errors(values: Sequence[DetailValue | EstimationValue], path: str, as_at: date) -> Iterator[FieldError]:
    if len(values) > MOST_VALUES:
        yield FieldError(path, f"holds more than {MOST_VALUES} values")
    seen: set[tuple[str, date, str]] = set()
    earliest, latest = as_at - EXPOSED_BEFORE, as_at + FORECAST_AHEAD
    for index, value in enumerate(values[:MOST_VALUES]):
        at = f"{path}[{index}]"
        if value.market not in MARKETS:
            yield FieldError(f"{at}.market", f"{shown(value.market)!r} is not STEM or Non-STEM")
        if not earliest <= value.trading_date <= latest:
            yield FieldError(
                f"{at}.tradingDate", f"{value.trading_date} is outside the exposed period {earliest} to {latest}"
            )
        if not VARIABLE.fullmatch(value.variable):
            yield FieldError(
                f"{at}.variable", "must be a name of 1 to 64 letters, digits or '_', starting with a letter"
            )
        elif (key := (value.market, value.trading_date, value.variable)) in seen:
            yield FieldError(
                f"{at}.variable", f"{value.variable} appears twice for {value.market} on {value.trading_date}"
            )
        else:
            seen.add(key)
        if not value.value.is_finite():
            yield FieldError(f"{at}.value", "must be a finite number")
        elif not -MOST_AMOUNT <= value.value <= MOST_AMOUNT:
            yield FieldError(f"{at}.value", f"{value.value} is outside {-MOST_AMOUNT} to {MOST_AMOUNT}")
        elif value.value != round(value.value, MOST_DECIMALS_OF_VALUE):
            yield FieldError(f"{at}.value", f"{value.value} has more than {MOST_DECIMALS_OF_VALUE} decimal places")
