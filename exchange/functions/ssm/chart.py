"""A chart of MW over intervals, laid out for an SVG: one line per series, axes with a few ticks, a legend.

Pure (numbers in, coordinates out), so that the screens' template only draws what it is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 36
# Distinguishable colours, each also told apart by its dash pattern in the legend and the line.
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
DASHES = ("", "6 3", "2 2", "8 3 2 3")


@dataclass(frozen=True)
class Series:
    label: str
    colour: str
    dash: str
    points: str  # the polyline's "x,y x,y ..."


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    series: Sequence[Series]
    x_ticks: Sequence[Tick]
    y_ticks: Sequence[Tick]
    plot: tuple[int, int, int, int]  # left, top, right, bottom


def mw_chart(values: Mapping[str, Sequence[tuple[datetime, float]]]) -> Chart | None:
    """The chart of each labelled series of (interval, MW); None when there is nothing to draw."""
    moments = sorted({moment for points in values.values() for moment, _ in points})
    if not moments:
        return None
    top_mw = max((mw for points in values.values() for _, mw in points), default=0.0)
    ceiling = _nice_ceiling(top_mw)
    first, last = moments[0], moments[-1]
    span = (last - first).total_seconds() or 1.0
    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM

    def x(moment: datetime) -> float:
        return round(LEFT + (moment - first).total_seconds() / span * (right - LEFT), 1)

    def y(mw: float) -> float:
        return round(bottom - mw / ceiling * (bottom - TOP), 1)

    series = [
        Series(
            label,
            COLOURS[index % len(COLOURS)],
            DASHES[(index // len(COLOURS)) % len(DASHES)],
            " ".join(f"{x(moment)},{y(mw)}" for moment, mw in sorted(points)),
        )
        for index, (label, points) in enumerate(sorted(values.items()))
    ]
    step = max(1, len(moments) // 6)
    x_ticks = [Tick(x(moment), moment.strftime("%d %b %H:%M")) for moment in moments[::step]]
    y_ticks = [Tick(y(ceiling * i / 4), f"{ceiling * i / 4:g}") for i in range(5)]
    return Chart(WIDTH, HEIGHT, series, x_ticks, y_ticks, (LEFT, TOP, right, bottom))


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2 or 5 times a power of ten at or above `value` (at least 10 MW): an axis that reads well."""
    ceiling = 10.0
    while ceiling < value:
        for factor in (2.0, 2.5, 2.0):
            ceiling *= factor
            if ceiling >= value:
                break
    return ceiling
