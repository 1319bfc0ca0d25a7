"""Chart screens: a queue's depth against its watermarks, and the transaction log's messages per hour by status.

Both are drawn from the same API calls the table screens make (`exchange/web/charts.py` draws them), so a chart
shows only what the participant may see in the tables.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from litestar import Request, get
from litestar.response import Template

from exchange.domain.markettime import MARKET_TIME
from exchange.kernel.clock import Clock
from exchange.web.api_client import ExchangeApi
from exchange.web.charts import Line, Span, stacked_bars, step_chart
from exchange.web.pages import Web
from exchange.web.session import Session

FLOW_READ = "FCTRL_STATUS"
TRANSLOG = "TRANSLOG_TRANSLOG"
HOURS_OF_TRANSLOG = 24
DEFAULT_DEPTH_HOURS, MOST_DEPTH_HOURS = 6, 48
MAX_PAGES = 20  # of 500 rows: a chart of more than 10,000 rows says it counted only those
MESSAGE_STATUSES = ("delivery_pending", "completed", "removed", "expired", "message_rejected", "message_acked")
QUEUE_RETENTION = timedelta(days=10)  # a message older than this has left every queue


def chart_handlers(web: Web, clock: Clock) -> list[Any]:
    @get("/translog/chart")
    async def translog_chart(request: Request[Any, Any, Any]) -> Template:
        session = web.session(request, TRANSLOG)
        end = clock.now().astimezone(MARKET_TIME)
        first = end.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS_OF_TRANSLOG - 1)
        rows, complete = await _rows(web.api(request), session, {"fromDateTime": _iso(first)})
        counts: Counter[tuple[datetime, str]] = Counter()
        for row in rows:
            if row["messageType"] == "flowControl":
                continue
            created = datetime.fromisoformat(row["createdDateTime"]).astimezone(MARKET_TIME)
            counts[(created.replace(minute=0, second=0, microsecond=0), row["status"])] += 1
        buckets = [first + timedelta(hours=h) for h in range(HOURS_OF_TRANSLOG)]
        seen = {status for _, status in counts}
        stacks = {s: [counts[(b, s)] for b in buckets] for s in MESSAGE_STATUSES if s in seen}
        chart = stacked_bars(
            "Messages per hour by status",
            f"Your messages (sent and received) accepted in each of the last {HOURS_OF_TRANSLOG} hours, market "
            "time, stacked by their delivery status now.",
            buckets,
            stacks,
        )
        return web.render(
            request, "chart.html", session, screen="translog", chart=chart, complete=complete, back="/app/translog"
        )

    @get("/flowcontrol/{function_id:str}/chart")
    async def depth_chart(request: Request[Any, Any, Any], function_id: str) -> Template:
        session = web.session(request, FLOW_READ)
        hours = _hours(request.query_params.get("hours"))
        api = web.api(request)
        end = clock.now().astimezone(MARKET_TIME)
        start = end - timedelta(hours=hours)
        detail = await api.data(session, "GET", f"/idx/v1/flowcontrol/businessFunctions/{function_id}")
        history = await api.data(
            session,
            "GET",
            "/idx/v1/participantStatus/history",
            params={
                "participantId": session.participant_id,
                "businessFunctionId": function_id,
                "fromDateTime": _iso(start - QUEUE_RETENTION),
            },
        )
        steps: list[tuple[datetime, float]] = []
        complete = True
        if session.holds(TRANSLOG):
            steps, complete = await _depth(api, session, function_id, start, end, int(detail["messageCount"]))
        marks = detail["watermarks"]
        chart = step_chart(
            f"Queue depth of {function_id}, last {hours} hours",
            f"Messages in your {function_id} queue over the last {hours} hours (market time) against the low, warn "
            "and high watermarks; shaded stretches are times when delivery was stopped.",
            start,
            end,
            steps,
            lines=[Line("Low", marks["low"]), Line("Warn", marks["warn"]), Line("High", marks["high"])],
            spans=stopped_spans(history, start),
            value_heading="Messages in the queue",
        )
        return web.render(
            request,
            "chart.html",
            session,
            screen="flowcontrol",
            chart=chart,
            complete=complete,
            back="/app/flowcontrol",
            needs_translog=not session.holds(TRANSLOG),
            hours=hours,
            hour_choices=(1, 6, 12, 24, 48),
        )

    return [translog_chart, depth_chart]


async def _depth(
    api: ExchangeApi, session: Session, function_id: str, start: datetime, end: datetime, now_count: int
) -> tuple[list[tuple[datetime, float]], bool]:
    own = {"receivingParticipantId": session.participant_id, "businessFunctionId": function_id}
    # Rows that may have changed in the window: any accepted within the queue retention before it.
    rows, complete = await _rows(api, session, {**own, "fromDateTime": _iso(start - QUEUE_RETENTION)})
    return depth_steps(rows, start, end, now_count), complete


def depth_steps(
    rows: list[dict[str, Any]], start: datetime, end: datetime, now_count: int
) -> list[tuple[datetime, float]]:
    """The queue's depth at each change in [start, end], walked back from the count now.

    A message enters the queue when its row becomes `completed` and leaves when it becomes `removed` or `expired`;
    the transaction log keeps the time of a row's latest change only, so a message that entered and left inside
    the window is taken to have entered when it was accepted."""
    changes: Counter[datetime] = Counter()
    for row in rows:
        if row["messageType"] == "flowControl":
            continue
        created = datetime.fromisoformat(row["createdDateTime"])
        changed = datetime.fromisoformat(row["statusDateTime"])
        if row["status"] == "completed" and changed > start:
            changes[changed] += 1
        elif row["status"] in ("removed", "expired") and changed > start:
            changes[changed] -= 1
            if created > start:
                changes[created] += 1
    depth = float(now_count)
    steps: list[tuple[datetime, float]] = []
    for moment in sorted((m for m in changes if m <= end), reverse=True):
        steps.append((moment.astimezone(MARKET_TIME), depth))
        depth -= changes[moment]
    steps.append((start, max(depth, 0.0)))
    return sorted(steps)


def stopped_spans(history: list[dict[str, Any]], start: datetime) -> list[Span]:
    """Stretches when delivery was stopped, by the watermarks or by hand, from the status history."""
    spans: list[Span] = []
    since: datetime | None = None
    label = ""
    for change in history:
        stopped = change["messageStatus"] == "Stopped" or bool(change["manualStop"])
        moment = datetime.fromisoformat(change["changedDateTime"]).astimezone(MARKET_TIME)
        if stopped and since is None:
            since, label = moment, "Stopped by you" if change["manualStop"] else "Stopped at the high watermark"
        elif not stopped and since is not None:
            spans.append(Span(label, since, moment))
            since = None
    if since is not None:
        spans.append(Span(label, since, None))
    return [span for span in spans if span.end is None or span.end > start]


async def _rows(api: ExchangeApi, session: Session, filters: dict[str, str]) -> tuple[list[dict[str, Any]], bool]:
    """Transaction log rows, oldest first, up to MAX_PAGES pages; and whether that was all of them."""
    rows: list[dict[str, Any]] = []
    params: dict[str, Any] = {**filters, "sort": "createdDateTime", "itemCount": 500}
    for _ in range(MAX_PAGES):
        answer = (await api.call(session, "GET", "/idx/v1/translog", params=params)).json()
        rows += answer["data"]
        cursor = answer["meta"]["nextCursor"]
        if cursor is None:
            return rows, True
        params["cursor"] = cursor
    return rows, False


def _hours(value: str | None) -> int:
    try:
        hours = int(value or DEFAULT_DEPTH_HOURS)
    except ValueError:
        return DEFAULT_DEPTH_HOURS
    return min(max(hours, 1), MOST_DEPTH_HOURS)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")
