"""Server-drawn charts: well-formed, accessible SVG with the same numbers as their table, and the data behind them."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from datetime import datetime, timedelta

from exchange.domain.markettime import MARKET_TIME
from exchange.web.chart_pages import depth_steps, stopped_spans
from exchange.web.charts import PALETTE, Line, Series, Span, line_chart, stacked_bars, step_chart

SVG = "{http://www.w3.org/2000/svg}"
START = datetime(2026, 7, 1, 10, 0, tzinfo=MARKET_TIME)
END = START + timedelta(hours=6)


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def row(status: str, created: float, changed: float) -> dict[str, str]:
    return {
        "messageType": "message",
        "status": status,
        "createdDateTime": at(created).isoformat(),
        "statusDateTime": at(changed).isoformat(),
    }


def test_a_step_chart_is_an_svg_image_named_by_its_title_with_levels_spans_and_the_series() -> None:
    chart = step_chart(
        "Queue depth <pqd>",
        "Messages & watermarks",
        START,
        END,
        [(START, 0), (at(1), 5), (at(2), 3)],
        lines=[Line("Low", 2), Line("Warn", 4), Line("High", 6)],
        spans=[Span("Stopped by you", at(1.5), None)],
    )
    svg = ElementTree.fromstring(str(chart.svg))  # well-formed, the title's "<" escaped
    assert svg.get("role") == "img"
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert title is not None and title.text == "Queue depth <pqd>"
    assert desc is not None and desc.text == "Messages & watermarks"
    assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert len(svg.findall(f"{SVG}line[@class='chart-level chart-level-high']")) == 1
    [span] = svg.findall(f"{SVG}rect[@class='chart-span']")
    assert span.find(f"{SVG}title").text == "Stopped by you"  # type: ignore[union-attr]
    [series] = svg.findall(f"{SVG}polyline")
    assert len(series.get("points", "").split()) == 6  # three levels: each held until the next, then to the end
    assert chart.rows == (("2026-07-01 10:00", "0"), ("2026-07-01 11:00", "5"), ("2026-07-01 12:00", "3"))


def test_stacked_bars_draw_one_rect_per_nonzero_count_and_the_table_has_the_totals() -> None:
    hours = [at(0), at(1), at(2)]
    chart = stacked_bars("Per hour", "By status", hours, {"completed": [2, 0, 1], "removed": [1, 0, 0]})
    svg = ElementTree.fromstring(str(chart.svg))
    assert len(svg.findall(f"{SVG}rect")) == 3
    assert chart.headings == ("Hour", "completed", "removed", "All")
    assert [r[-1] for r in chart.rows] == ["3", "0", "1"]


def test_a_line_chart_draws_one_marked_line_per_series_and_tabulates_every_moment() -> None:
    """Each series is a polyline marked by its key; the table has a column per series, blank where it has no point."""
    chart = line_chart(
        "MW <SA1>",
        "Requirement & enabled",
        [
            Series("SA1 requirement", "Requirement", [(START, 10), (at(1), 20)]),
            Series("SA1 enabled", "Enabled", [(at(1), 5)]),
        ],
        moment_heading="Interval",
        moment_format="%H:%M",
    )
    assert chart is not None
    svg = ElementTree.fromstring(str(chart.svg))  # well-formed, the title's "<" escaped
    lines = svg.findall(f"{SVG}polyline")
    assert [line.get("data-series") for line in lines] == ["SA1 requirement", "SA1 enabled"]
    assert [len(line.get("points", "").split()) for line in lines] == [2, 1]
    assert chart.headings == ("Interval", "Requirement", "Enabled")
    assert chart.rows == (("10:00", "10", ""), ("11:00", "20", "5"))
    assert [entry.label for entry in chart.legend] == ["Requirement", "Enabled"]


def test_a_line_chart_tells_more_lines_than_colours_apart_by_their_dashes() -> None:
    """The colours repeat after the palette, each time with the next dash pattern: no two lines look alike."""
    series = [Series(f"S{i}", f"S{i}", [(START, i)]) for i in range(PALETTE + 1)]
    chart = line_chart("Many", "many", series)
    assert chart is not None
    assert chart.legend[0].classes == "chart-line chart-nth-0 chart-dash-0"
    assert chart.legend[PALETTE].classes == "chart-line chart-nth-0 chart-dash-1"


def test_a_line_chart_with_a_negative_value_takes_its_axis_below_zero_and_nothing_draws_no_chart() -> None:
    """The lowest gridline is a round value below the least one; with no point at all there is no chart."""
    chart = line_chart("Margin", "m", [Series("m", "m", [(START, -30), (at(1), 80)])])
    assert chart is not None
    labels = [text.text for text in ElementTree.fromstring(str(chart.svg)).findall(f"{SVG}text")]
    assert labels[:5] == ["-50", "-12.5", "25", "62.5", "100"]
    assert line_chart("Empty", "e", [Series("m", "m", [])]) is None


def test_two_charts_on_one_page_have_different_title_ids() -> None:
    first = ElementTree.fromstring(str(stacked_bars("A", "a", [START], {"completed": [1]}).svg))
    second = ElementTree.fromstring(str(stacked_bars("B", "b", [START], {"completed": [1]}).svg))
    assert first.get("aria-labelledby") != second.get("aria-labelledby")


def test_the_depth_walks_back_from_the_count_now() -> None:
    """Two arrive, one is deleted: with one in the queue now, the queue held 0, then 1, 2 and 1."""
    rows = [
        row("completed", 1, 1),  # arrived at 1 h, still there
        row("removed", 2, 3),  # arrived at 2 h, deleted at 3 h
        row("removed", -30, 0.5),  # arrived long before, deleted at 0.5 h
        row("completed", -30, -29),  # there all along
    ]
    assert depth_steps(rows, START, END, now_count=2) == [
        (START, 2.0),
        (at(0.5), 1.0),
        (at(1), 2.0),
        (at(2), 3.0),
        (at(3), 2.0),
    ]


def test_flow_control_rows_do_not_move_the_depth() -> None:
    rows = [{**row("completed", 1, 1), "messageType": "flowControl"}]
    assert depth_steps(rows, START, END, now_count=4) == [(START, 4.0)]


def test_stops_by_the_watermark_and_by_hand_become_shaded_spans() -> None:
    def change(hours: float, status: str, manual: bool) -> dict[str, object]:
        return {"changedDateTime": at(hours).isoformat(), "messageStatus": status, "manualStop": manual}

    history = [
        change(-50, "Stopped", False),  # before the window, and over before it
        change(-49, "Operational", False),
        change(1, "Stopped", False),
        change(2, "Operational", False),
        change(4, "Operational", True),
    ]
    assert stopped_spans(history, START) == [
        Span("Stopped at the high watermark", at(1), at(2)),
        Span("Stopped by you", at(4), None),
    ]
