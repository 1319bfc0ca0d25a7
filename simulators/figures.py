"""Pure helpers of the simulators and the benchmark: sizes, payload shapes, percentiles, rates."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1_000_000, "mb": 1_000_000, "mib": 1 << 20}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")


def parse_size(text: str) -> int:
    """Bytes in a size as people write it: `1KiB` = 1024, `100KiB`, `1MB` = 1,000,000, `1MiB`, `2048`."""
    match = _SIZE.match(text.lower())
    if match is None or match.group(2) not in _UNITS:
        raise ValueError(f"{text!r} is not a size (try 1KiB, 100KiB, 1MB)")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def format_size(size: int) -> str:
    """The inverse of parse_size for the round sizes the benchmark uses (1KiB, 100KiB, 1MB), else bytes."""
    for unit, factor in (("MB", 1_000_000), ("MiB", 1 << 20), ("KiB", 1024), ("kB", 1000)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"


@dataclass(frozen=True)
class PayloadShape:
    """How a BPQD message of a wanted size is built: NMIs, interval length (minutes) and phases per NMI."""

    nmis: int
    interval_length: int = 5
    phases: int = 3


ONE_NMI = PayloadShape(1)

# Shapes smaller than one full NMI-day (5-minute intervals, three phases), smallest first.
SMALL_SHAPES = (
    PayloadShape(1, 30, 1),
    PayloadShape(1, 30, 2),
    PayloadShape(1, 30, 3),
    PayloadShape(1, 15, 3),
    PayloadShape(1, 10, 3),
)


def nmis_for_size(target: int, bytes_per_nmi: int, overhead: int) -> int:
    """NMI-days (5-minute, three phases) that bring an envelope nearest to `target` bytes; at least one."""
    if bytes_per_nmi <= 0:
        raise ValueError("bytes_per_nmi must be positive")
    return max(1, round((target - overhead) / bytes_per_nmi))


def nearest(sizes: Sequence[int], target: int) -> int:
    """Index of the size nearest to `target` (the first on a tie)."""
    if not sizes:
        raise ValueError("no sizes")
    return min(range(len(sizes)), key=lambda index: (abs(sizes[index] - target), index))


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` (0..1) percentile by linear interpolation between closest ranks; NaN for no values."""
    if not 0.0 <= fraction <= 1.0:
        raise ValueError("fraction must be within 0..1")
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def rate(count: int, seconds: float) -> float:
    """Events per second; 0 when no time passed."""
    return count / seconds if seconds > 0 else 0.0


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, 0 when the denominator is 0."""
    return numerator / denominator if denominator > 0 else 0.0


def split_evenly(total: int, parts: int) -> list[int]:
    """`total` split into `parts` whole shares that differ by at most one (earlier shares take the remainder)."""
    if parts <= 0:
        raise ValueError("parts must be positive")
    share, extra = divmod(total, parts)
    return [share + (1 if index < extra else 0) for index in range(parts)]
