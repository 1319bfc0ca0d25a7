"""Watermarks of one participant's queue for one business function, and the status they define."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

Status: TypeAlias = Literal["Operational", "Warned", "Stopped"]
STATUS: TypeAlias = Status
"""The same type under the name the flow-control issue uses."""

MAX_WATERMARK = 10_000_000
"""The largest watermark: a thousand times BPQD's default high. A larger count is no flow control at all, and
an unbounded one does not fit the 64-bit integers the stores keep."""


@dataclass(frozen=True)
class Watermarks:
    """Low, warn and high message counts; constructing one checks ``0 <= low < warn < high``."""

    low: int
    warn: int
    high: int

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError unless ``0 <= low < warn < high <= MAX_WATERMARK`` (the API answers 422 for the same
        rule)."""
        if not 0 <= self.low < self.warn < self.high <= MAX_WATERMARK:
            raise ValueError(f"watermarks need 0 <= low < warn < high, got {self.low}/{self.warn}/{self.high}")


def next_status(previous: Status, count: int, watermarks: Watermarks) -> Status:
    """The status after the count became ``count``, given the status before.

    Stopped at ``high``; once Stopped it stays Stopped until the count is below ``low``, whatever ``warn`` says
    (hysteresis, so a queue hovering around ``high`` does not flap). Otherwise Warned at ``warn``.
    """
    if count >= watermarks.high or (previous == "Stopped" and count >= watermarks.low):
        return "Stopped"
    if count >= watermarks.warn:
        return "Warned"
    return "Operational"
