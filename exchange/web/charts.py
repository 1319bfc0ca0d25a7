"""Charts drawn on the server as SVG: no script library, readable by screen readers, with the numbers as a table.

Each chart is an `<svg role="img">` named by its `<title>` and described by its `<desc>`; the template shows the
same numbers in a table beside it (`Chart.rows`), so nothing is only in the picture. Colours come from classes in
app.css (the pages' Content-Security-Policy allows no inline styles).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 40  # room for the axes' labels
PALETTE = 7  # colours app.css gives kinds by position (`chart-nth-0` ...)
DASHES = 4  # dash patterns app.css gives lines (`chart-dash-0` ...): more lines than colours are still told apart
_ids = itertools.count(1)


@dataclass(frozen=True)
class LegendEntry:
    label: str
    classes: str  # the line's classes in the chart, so that the key is drawn as the line is


@dataclass(frozen=True)
class Chart:
    title: str
    description: str
    svg: Markup
    headings: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    legend: tuple[LegendEntry, ...] = ()


@dataclass(frozen=True)
class Line:
    """A level drawn across the chart (a watermark)."""

    name: str
    value: float


@dataclass(frozen=True)
class Series:
    """One line of a line chart: `key` marks it in the SVG (`data-series`), `label` names it in the legend."""

    key: str
    label: str
    points: Sequence[tuple[datetime, float]]


@dataclass(frozen=True)
class Span:
    """A stretch of time marked on the chart (delivery stopped); `end` None runs to the chart's end."""

    label: str
    start: datetime
    end: datetime | None


def step_chart(
    title: str,
    description: str,
    start: datetime,
    end: datetime,
    steps: Sequence[tuple[datetime, float]],
    *,
    lines: Sequence[Line] = (),
    spans: Sequence[Span] = (),
    value_heading: str = "Value",
) -> Chart:
    """A value that holds until it changes (a queue's depth), against levels, with stretches of time shaded."""
    top = _nice_top(max([*(v for _, v in steps), *(line.value for line in lines), 1.0]))
    x = _Scale(start, end)

    def y(value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top)

    parts = _frame(top, y)
    parts += _time_axis(start, end, x)
    for span in spans:
        left, right = x(max(span.start, start)), x(min(span.end or end, end))
        parts.append(
            f'<rect class="chart-span" x="{left:.1f}" y="{TOP}" width="{max(right - left, 2):.1f}" '
            f'height="{HEIGHT - TOP - BOTTOM}"><title>{escape(span.label)}</title></rect>'
        )
    for line in lines:
        parts.append(
            f'<line class="chart-level chart-level-{escape(line.name.lower())}" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{y(line.value):.1f}" y2="{y(line.value):.1f}"/>'
            f'<text class="chart-label" x="{WIDTH - RIGHT - 4}" y="{y(line.value) - 4:.1f}" text-anchor="end">'
            f"{escape(line.name)} {line.value:g}</text>"
        )
    if steps:
        points: list[str] = []
        for index, (moment, value) in enumerate(steps):
            if index:
                points.append(f"{x(moment):.1f},{y(steps[index - 1][1]):.1f}")
            points.append(f"{x(moment):.1f},{y(value):.1f}")
        points.append(f"{x(end):.1f},{y(steps[-1][1]):.1f}")
        parts.append(f'<polyline class="chart-series" points="{" ".join(points)}"/>')
    rows = tuple((_when(moment), f"{value:g}") for moment, value in steps)
    return Chart(title, description, _svg(title, description, parts), ("Time", value_heading), rows)


def line_chart(
    title: str,
    description: str,
    series: Sequence[Series],
    *,
    moment_heading: str = "Time",
    moment_format: str = "%d %b %H:%M",
    number: Callable[[float], str] = "{:g}".format,
) -> Chart | None:
    """Values over time, one line per series, with a legend; None when there is no point to draw.

    The value axis starts at 0, or below it when a value is negative; the time axis labels a few of the moments.
    """
    moments = sorted({moment for line in series for moment, _ in line.points})
    values = [value for line in series for _, value in line.points]
    if not moments:
        return None
    top = _nice_top(max([*values, 1.0]))
    low = -_nice_top(-min(values)) if min(values) < 0 else 0.0
    x = _Scale(moments[0], moments[-1])

    def y(value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (top - value) / (top - low)

    parts = _frame(top, y, low=low, number=number)
    step = max(1, -(-len(moments) // 6))  # at most six labels, evenly picked
    for moment in moments[::step]:
        parts.append(
            f'<text class="chart-label" x="{x(moment):.1f}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="{"end" if moment == moments[-1] else "middle"}">{moment.strftime(moment_format)}</text>'
        )
    legend = []
    for index, line in enumerate(series):
        classes = f"chart-line chart-nth-{index % PALETTE} chart-dash-{index // PALETTE % DASHES}"
        points = " ".join(f"{x(moment):.1f},{y(value):.1f}" for moment, value in sorted(line.points))
        parts.append(
            f'<polyline class="{classes}" data-series="{escape(line.key)}" points="{points}">'
            f"<title>{escape(line.label)}</title></polyline>"
        )
        legend.append(LegendEntry(line.label, classes))
    by_moment = [dict(line.points) for line in series]
    rows = tuple(
        (moment.strftime(moment_format), *(number(v) if (v := at.get(moment)) is not None else "" for at in by_moment))
        for moment in moments
    )
    headings = (moment_heading, *(line.label for line in series))
    return Chart(title, description, _svg(title, description, parts), headings, rows, tuple(legend))


def stacked_bars(
    title: str,
    description: str,
    buckets: Sequence[datetime],
    stacks: Mapping[str, Sequence[int]],
    *,
    bucket_heading: str = "Hour",
) -> Chart:
    """Counts per bucket of time, one stacked bar per bucket and one colour per kind (`chart-kind-<kind>`)."""
    totals = [sum(counts[i] for counts in stacks.values()) for i in range(len(buckets))]
    top = _nice_top(max([*totals, 1]))

    def y(value: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top)

    parts = _frame(top, y)
    slot = (WIDTH - LEFT - RIGHT) / max(len(buckets), 1)
    for index, bucket in enumerate(buckets):
        left = LEFT + index * slot + slot * 0.15
        base = 0
        for position, (kind, counts) in enumerate(stacks.items()):
            count = counts[index]
            if count:
                # A kind with no colour of its own (a participant, a business function) takes one by position.
                parts.append(
                    f'<rect class="chart-kind chart-nth-{position % PALETTE} chart-kind-{escape(kind.lower())}" '
                    f'x="{left:.1f}" '
                    f'y="{y(base + count):.1f}" width="{slot * 0.7:.1f}" height="{y(base) - y(base + count):.1f}">'
                    f"<title>{escape(_when(bucket))}: {count} {escape(kind)}</title></rect>"
                )
            base += count
        if index % max(len(buckets) // 8, 1) == 0:
            parts.append(
                f'<text class="chart-label" x="{left + slot * 0.35:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                f'text-anchor="middle">{bucket.strftime(_clock_format(buckets[0], buckets[-1]))}</text>'
            )
    kinds = tuple(stacks)
    rows = tuple(
        (_when(bucket), *(str(stacks[kind][i]) for kind in kinds), str(totals[i])) for i, bucket in enumerate(buckets)
    )
    return Chart(title, description, _svg(title, description, parts), (bucket_heading, *kinds, "All"), rows)


def _svg(title: str, description: str, parts: list[str]) -> Markup:
    number = next(_ids)
    # Every text in `parts` went through `escape`, every number through a format: the markup is ours alone.
    return Markup(  # noqa: S704
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title-{number} chart-desc-{number}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="chart-title-{number}">{escape(title)}</title>'
        f'<desc id="chart-desc-{number}">{escape(description)}</desc>' + "".join(parts) + "</svg>"
    )


def _frame(
    top: float, y: Callable[[float], float], *, low: float = 0.0, number: Callable[[float], str] = "{:g}".format
) -> list[str]:
    """The value axis from `low` to `top`: five gridlines with their values."""
    parts = []
    for quarter in range(5):
        value = low + (top - low) * quarter / 4
        at = y(value)
        parts.append(
            f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at:.1f}" y2="{at:.1f}"/>'
            f'<text class="chart-label" x="{LEFT - 6}" y="{at + 4:.1f}" text-anchor="end">'
            f"{escape(number(value))}</text>"
        )
    return parts


class _Scale:
    """Time to the horizontal position in the plot; moments outside the chart's span sit at its edges."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self._start = start
        self._seconds = max((end - start).total_seconds(), 1.0)

    def __call__(self, moment: datetime) -> float:
        share = min(max((moment - self._start).total_seconds() / self._seconds, 0.0), 1.0)
        return LEFT + (WIDTH - LEFT - RIGHT) * share


def _time_axis(start: datetime, end: datetime, x: _Scale) -> list[str]:
    parts = []
    for eighth in range(9):
        moment = start + (end - start) * eighth / 8
        parts.append(
            # The last label ends at the plot's edge rather than running off it.
            f'<text class="chart-label" x="{x(moment):.1f}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="{"end" if eighth == 8 else "middle"}">'
            f"{moment.strftime(_clock_format(start, end))}</text>"
        )
    return parts


def _clock_format(start: datetime, end: datetime) -> str:
    """Hours and minutes on the axis; seconds too when the whole chart spans less than ten minutes."""
    return "%H:%M:%S" if end - start < timedelta(minutes=10) else "%H:%M"


def _nice_top(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that holds `value`: round numbers on the axis."""
    scale = 1.0
    while scale * 10 <= value:
        scale *= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * scale >= value:
            return step * scale
    return 10 * scale


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")
