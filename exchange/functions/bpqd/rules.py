"""The business rules of a decoded BPQD body, each broken rule named by its path from the body root.

The checks are generators so that a body full of bad values costs only the errors that are reported:
`exchange.functions.errors.first_errors` stops them after `MAX_ERRORS`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import cast

from exchange.functions.bpqd.nmi import NMI_PATTERN, nmi_checksum
from exchange.functions.bpqd.schema import NmiDetail, Phase, Transaction
from exchange.functions.envelope import is_timestamp
from exchange.functions.errors import FieldError
from exchange.functions.protocol import StandingData

MINUTES_PER_DAY = 1440
INTERVAL_LENGTHS = (1, 5, 10, 15, 30)
PHASE_NAMES = ("A", "B", "C")
QUALITY_FLAGS = ("A", "E", "S", "N")
# Inclusive bounds per reading array, by its JSON name.
RANGES: dict[str, tuple[float, float]] = {
    "voltage": (0.0, 1000.0),
    "current": (0.0, 10000.0),
    "phaseAngle": (-180.0, 180.0),
}
# The strings of a reading are bounded like its numbers: MSATS meter serial numbers are at most 12 characters (20
# leaves room), and a transaction id is an id, not a document.
MAX_METER_SERIAL_LENGTH = 20
MAX_TRANSACTION_ID_LENGTH = 100


def body_errors(
    transactions: Sequence[Transaction], sender: str, recipients: Sequence[str], standing: StandingData
) -> Iterator[FieldError]:
    """Every broken rule of the transactions of an envelope sent by `sender` to `recipients`."""
    if not transactions:
        yield FieldError("data.transactions", "holds no transaction")
    for index, transaction in enumerate(transactions):
        yield from transaction_errors(transaction, f"data.transactions[{index}]", sender, recipients, standing)


def transaction_errors(
    transaction: Transaction, path: str, sender: str, recipients: Sequence[str], standing: StandingData
) -> Iterator[FieldError]:
    """The broken rules of one transaction found at `path`."""
    if not transaction.transaction_id.strip() or len(transaction.transaction_id) > MAX_TRANSACTION_ID_LENGTH:
        yield FieldError(f"{path}.transactionId", f"must be 1 to {MAX_TRANSACTION_ID_LENGTH} characters")
    if not is_timestamp(transaction.transaction_date_time):
        yield FieldError(f"{path}.transactionDateTime", "must be an ISO 8601 timestamp with an offset")
    if not transaction.nmi_details:
        yield FieldError(f"{path}.nmiDetails", "holds no NMI detail")
    for index, detail in enumerate(transaction.nmi_details):
        yield from nmi_detail_errors(detail, f"{path}.nmiDetails[{index}]", sender, recipients, standing)


def nmi_detail_errors(
    detail: NmiDetail, path: str, sender: str, recipients: Sequence[str], standing: StandingData
) -> Iterator[FieldError]:
    """The broken rules of one NMI's day of readings found at `path`."""
    yield from _nmi_errors(detail, path, sender, recipients, standing)
    if not detail.meter_serial_number.strip():
        yield FieldError(f"{path}.meterSerialNumber", "must not be blank")
    elif len(detail.meter_serial_number) > MAX_METER_SERIAL_LENGTH:
        yield FieldError(f"{path}.meterSerialNumber", f"must be at most {MAX_METER_SERIAL_LENGTH} characters")
    expected_count: int | None = None
    if detail.interval_length in INTERVAL_LENGTHS:
        expected_count = MINUTES_PER_DAY // detail.interval_length
    else:
        allowed = ", ".join(map(str, INTERVAL_LENGTHS))
        yield FieldError(f"{path}.intervalLength", f"{detail.interval_length} is not one of {allowed} minutes")
    if not detail.phases:
        yield FieldError(f"{path}.phases", "holds no phase")
    seen: set[str] = set()
    for index, phase in enumerate(detail.phases):
        phase_path = f"{path}.phases[{index}]"
        if phase.phase not in PHASE_NAMES:
            yield FieldError(f"{phase_path}.phase", f"{phase.phase!r} is not one of A, B, C")
        elif phase.phase in seen:
            yield FieldError(f"{phase_path}.phase", f"phase {phase.phase} appears more than once")
        seen.add(phase.phase)
        yield from phase_errors(phase, phase_path, expected_count)


def phase_errors(phase: Phase, path: str, expected_count: int | None) -> Iterator[FieldError]:
    """The broken rules of one phase's readings; `expected_count` is None when the interval is unknown."""
    if phase.quality_flag not in QUALITY_FLAGS:
        yield FieldError(f"{path}.qualityFlag", f"{phase.quality_flag!r} is not one of A, E, S, N")
    nulls_allowed = phase.quality_flag == "N"
    for name, values in (
        ("voltage", phase.voltage),
        ("current", phase.current),
        ("phaseAngle", phase.phase_angle),
    ):
        if expected_count is not None and len(values) != expected_count:
            yield FieldError(f"{path}.{name}", f"holds {len(values)} values where {expected_count} are due")
        low, high = RANGES[name]
        yield from value_errors(values, f"{path}.{name}", low, high, nulls_allowed=nulls_allowed)


def value_errors(
    values: Sequence[float | None], path: str, low: float, high: float, *, nulls_allowed: bool
) -> Iterator[FieldError]:
    """Each value that is null where nulls are not allowed, not finite, or outside `low`..`high`."""
    # Fast path in C for the usual all-good array: the sum of bounded values is finite unless one is NaN.
    if None not in values:
        numbers = cast("Sequence[float]", values)
        if not numbers or (low <= min(numbers) and max(numbers) <= high and math.isfinite(sum(numbers))):
            return
    for index, value in enumerate(values):
        if value is None:
            if not nulls_allowed:
                yield FieldError(f"{path}[{index}]", "is null, which only qualityFlag N allows")
        elif not math.isfinite(value):
            yield FieldError(f"{path}[{index}]", "must be a finite number")
        elif not low <= value <= high:
            yield FieldError(f"{path}[{index}]", f"{value} is outside {low:g} to {high:g}")


def _nmi_errors(
    detail: NmiDetail, path: str, sender: str, recipients: Sequence[str], standing: StandingData
) -> Iterator[FieldError]:
    # fullmatch: `$` alone would let a trailing newline through.
    if not NMI_PATTERN.fullmatch(detail.nmi):
        # A malformed NMI has no checksum and no standing data worth asking about.
        yield FieldError(f"{path}.nmi", f"{detail.nmi!r} is not 10 capital letters or digits")
        return
    if detail.nmi_checksum is not None and detail.nmi_checksum != nmi_checksum(detail.nmi):
        yield FieldError(f"{path}.nmiChecksum", f"{detail.nmi_checksum!r} is not the checksum of NMI {detail.nmi}")
    day = detail.reading_date.isoformat()
    responsible = standing.nmi_responsible(detail.nmi, detail.reading_date)
    if responsible is not None and sender not in responsible:
        yield FieldError(f"{path}.nmi", f"{sender} is not the MC or MDP of NMI {detail.nmi} on {day}")
    # Customer data goes only to the NMI's own network.
    network = standing.nmi_network(detail.nmi, detail.reading_date)
    if network is not None and (strangers := sorted(set(recipients) - {network})):
        yield FieldError(
            f"{path}.nmi", f"NMI {detail.nmi} is on {network}'s network on {day}, not {', '.join(strangers)}'s"
        )
