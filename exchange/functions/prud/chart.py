"""The Prudential Securities chart (AEMO's WEMS guide §3.1) as a server-rendered SVG: credit support, trading limit,
outstanding amount and trading margin over the as-at dates.

Pure: points in, SVG text out, so that the chart and the table beside it show the same numbers (ROPE-1249).
Colours are presentation attributes, not styles, since the web app's content security policy allows no inline
style.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from html import escape
from typing import Any

# (JSON name, legend label, colour): the four series of the seed's chart.
SERIES = (
    ("creditSupport", "Credit support", "#13294b"),
    ("tradingLimit", "Trading limit", "#2e9d4f"),
    ("outstandingAmount", "Outstanding amount", "#c0392b"),
    ("tradingMargin", "Trading margin", "#e8a33d"),
)
WIDTH, HEIGHT = 760, 320
LEFT, RIGHT, TOP, BOTTOM = 96, 16, 16, 64


def securities_chart(points: Sequence[Mapping[str, Any]]) -> str:
    """An SVG line chart of the four series over `points` (each with `asAtDate` and the four amounts)."""
    if not points:
        return '<p class="muted">No figures have been published yet.</p>'
    values = [Decimal(str(point[name])) for point in points for name, _, _ in SERIES]
    low, high = min(min(values), Decimal(0)), max(values)
    if high == low:
        high = low + 1
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(index: int) -> float:
        return LEFT + (plot_width * index / (len(points) - 1) if len(points) > 1 else plot_width / 2)

    def y(value: Decimal) -> float:
        return TOP + float((high - value) / (high - low)) * plot_height

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-labelledby="chart-title" data-testid="securities-chart">',
        '<title id="chart-title">Prudential securities by as-at date</title>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_height}" stroke="#5b6670"/>',
        f'<line x1="{LEFT}" y1="{y(Decimal(0)):.1f}" x2="{LEFT + plot_width}" y2="{y(Decimal(0)):.1f}" '
        'stroke="#5b6670"/>',
    ]
    for tick in (low, (low + high) / 2, high):
        parts.append(
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11">{_dollars(tick)}</text>'
        )
    for index in sorted({0, len(points) - 1, (len(points) - 1) // 2}):
        parts.append(
            f'<text x="{x(index):.1f}" y="{TOP + plot_height + 16}" text-anchor="middle" font-size="11">'
            f"{escape(str(points[index]['asAtDate']))}</text>"
        )
    for number, (name, label, colour) in enumerate(SERIES):
        coordinates = " ".join(
            f"{x(index):.1f},{y(Decimal(str(point[name]))):.1f}" for index, point in enumerate(points)
        )
        parts.append(
            f'<polyline points="{coordinates}" fill="none" stroke="{colour}" stroke-width="2" data-series="{name}">'
            f"<title>{label}</title></polyline>"
        )
        legend_x = LEFT + number * (plot_width // len(SERIES))
        legend_y = HEIGHT - 18
        parts.append(f'<rect x="{legend_x}" y="{legend_y - 9}" width="14" height="4" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 20}" y="{legend_y - 4}" font-size="12">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _dollars(amount: Decimal) -> str:
    return f"${amount:,.0f}"
