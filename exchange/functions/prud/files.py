"""The download files of the Prudential Monitoring screen and web services (AEMO's WEMS guide §3.2), and which one a
caller asked for.

- Summary file: one CSV, a row per market and invoice period of the settlement statement carrying the day's
  parameters, named as the seed shows (`PARTYX_20200702_FORECAST_2020070223004523.csv`).
- Detailed file: a zip of CSVs, one per market and trading day, of the calculation's variables.
- Estimation file: one CSV of the inputs to the estimated values.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, timezone
from itertools import groupby

from exchange.functions.prud.schema import DetailValue, EstimationValue, Parameters
from exchange.kernel.errors import NotAcceptableError

JSON = "application/json"
CSV = "text/csv"
ZIP = "application/zip"
# WEMS is Western Australia's market: its files are stamped in AWST, which keeps no daylight saving.
AWST = timezone(timedelta(hours=8), "AWST")
SUMMARY_COLUMNS = (
    "participantId", "asAtDate", "calculationType", "market", "invoicePeriod", "days", "exposure",
    "cumulativeEstimatedExposure", "invoicedNotPaid", "prepayments", "outstandingAmount", "creditLimit",
    "creditSupport", "tradingLimit", "tradingMargin",
)  # fmt: skip
VALUE_COLUMNS = ("participantId", "asAtDate", "calculationType", "market", "tradingDate", "variable", "value")


def negotiate(accept: str | None, offered: Sequence[str]) -> str:
    """The first of `offered` the `Accept` header takes, by its q-values (the first offered when it says nothing).

    NotAcceptableError when it takes none of them.
    """
    if accept is None or not accept.strip():
        return offered[0]
    ranges: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept.split(",")):
        media, *parameters = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            ranges.append((-quality, index, media.lower()))
    for _, _, media in sorted(ranges):
        for kind in offered:
            if media in (kind, "*/*") or (media.endswith("/*") and kind.startswith(media[:-1])):
                return kind
    raise NotAcceptableError(f"this answer comes as {', '.join(offered)}; the Accept header takes none of them")


def stamp(moment: datetime) -> str:
    """The seed's generation stamp: AWST to the hundredth of a second, `2020070223004523`."""
    local = moment.astimezone(AWST)
    return f"{local:%Y%m%d%H%M%S}{local.microsecond // 10_000:02d}"


def file_stem(parameters: Parameters, generated: datetime, kind: str = "") -> str:
    """`PARTYX_20200702_FORECAST_2020070223004523`, with `kind` (DETAIL, ESTIMATION) before the stamp."""
    parts = [parameters.participant_id, f"{parameters.as_at_date:%Y%m%d}", parameters.calculation_type.upper()]
    return "_".join([*parts, *([kind] if kind else []), stamp(generated)])


def summary_csv(parameters: Parameters) -> bytes:
    """The summary file: a row per market and invoice period, each with the day's parameters."""
    figures = [
        parameters.cumulative_estimated_exposure, parameters.invoiced_not_paid, parameters.prepayments,
        parameters.outstanding_amount, parameters.credit_limit, parameters.credit_support, parameters.trading_limit,
        parameters.trading_margin,
    ]  # fmt: skip
    head = [parameters.participant_id, parameters.as_at_date.isoformat(), parameters.calculation_type]
    rows = [
        [*head, line.market, line.invoice_period, line.days, line.exposure, *figures]
        for line in parameters.settlement_statement
    ] or [[*head, "", "", "", "", *figures]]
    return _csv(SUMMARY_COLUMNS, rows)


def values_csv(parameters: Parameters, values: Iterable[DetailValue | EstimationValue]) -> bytes:
    """Detail or estimation values as one CSV (an estimation adds its `estimated` column)."""
    head = [parameters.participant_id, parameters.as_at_date.isoformat(), parameters.calculation_type]
    listed = list(values)
    estimated = any(isinstance(value, EstimationValue) for value in listed)
    columns = (*VALUE_COLUMNS, "estimated") if estimated else VALUE_COLUMNS
    rows = [
        [*head, v.market, v.trading_date.isoformat(), v.variable, v.value,
         *([str(v.estimated).lower()] if isinstance(v, EstimationValue) else [])]
        for v in listed
    ]  # fmt: skip
    return _csv(columns, rows)


def per_day_zip(parameters: Parameters, values: Sequence[DetailValue | EstimationValue]) -> bytes:
    """The values as a zip of CSVs, one per market and trading day: `PARTYX_20200702_CURRENT_NONSTEM_20200701.csv`."""
    buffer = io.BytesIO()
    stem = f"{parameters.participant_id}_{parameters.as_at_date:%Y%m%d}_{parameters.calculation_type.upper()}"
    ordered = sorted(values, key=_market_day)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for (market, day), group in groupby(ordered, key=_market_day):
            name = f"{stem}_{market.replace('-', '').upper()}_{day:%Y%m%d}.csv"
            archive.writestr(name, values_csv(parameters, group))
    return buffer.getvalue()


def _market_day(value: DetailValue | EstimationValue) -> tuple[str, date]:
    return value.market, value.trading_date


def _csv(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")
