"""The operator's dashboard (`IDX_ADMIN`): messages accepted per second, delivery lag and queue depths across
participants, over the last hours.

No API call answers these across participants, and the transaction log keeps only a row's latest change, so the
dashboard reads the exchange's own samples instead: the metrics sampler keeps the Prometheus totals (accepted
messages, the delivery-lag histogram's count and sum) and the queue view's depths every 10 seconds, in memory
(`exchange.services.metrics`). One more sample is taken as the page is drawn, so the newest figures are those of now.
The screen says which stretch its samples cover: a restart of the exchange starts them afresh.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from litestar import Request, get
from litestar.response import Template

from exchange.domain.markettime import MARKET_TIME
from exchange.services.metrics import KEPT, SAMPLE_SECONDS, MetricsSampler, Sample
from exchange.web.admin import ENTITY
from exchange.web.charts import Chart, stacked_bars, step_chart
from exchange.web.pages import Web

HOUR_CHOICES = (1, 2, 3, 6)
MOST_BUCKETS = 60
MOST_PARTICIPANTS_DRAWN = 6  # more colours than this are not told apart; the rest are drawn as "others"
OTHERS = "others"


@dataclass
class Bucket:
    """What happened in [start, start + width): sums of the differences between consecutive samples."""

    start: datetime
    seconds: float
    accepted: dict[str, float] = field(default_factory=dict)
    deliveries: float = 0.0
    delivery_seconds: float = 0.0
    # Messages waiting at the bucket's last sample, by participant (every business function together).
    depths: dict[str, int] = field(default_factory=dict)

    @property
    def accepted_count(self) -> int:
        return round(sum(self.accepted.values()))

    @property
    def accepted_per_second(self) -> float:
        return self.accepted_count / self.seconds if self.seconds > 0 else 0.0

    @property
    def mean_lag(self) -> float | None:
        """Mean seconds from acceptance to delivery of the deliveries queued in the bucket; None if there were none."""
        return self.delivery_seconds / self.deliveries if self.deliveries else None


def buckets(samples: Sequence[Sample], start: datetime, end: datetime) -> list[Bucket]:
    """The samples' differences gathered into at most MOST_BUCKETS buckets of whole sample intervals over
    [start, end]; each difference counts in the bucket where its later sample falls."""
    span = max((end - start).total_seconds(), SAMPLE_SECONDS)
    width = SAMPLE_SECONDS * math.ceil(span / MOST_BUCKETS / SAMPLE_SECONDS)
    found = [Bucket(start + timedelta(seconds=width * index), width) for index in range(math.ceil(span / width) or 1)]
    # The last bucket runs to now only.
    found[-1].seconds = max((end - start).total_seconds() - width * (len(found) - 1), 1.0)
    depths: dict[str, int] = {}
    for earlier, later in itertools.pairwise(samples):
        if later.at <= start or later.at > end:
            continue
        bucket = found[min(int((later.at - start).total_seconds() // width), len(found) - 1)]
        for function, total in later.accepted.items():
            # A counter that went down was reset (another exchange in the same process): count from zero.
            grown = total - earlier.accepted.get(function, 0.0)
            bucket.accepted[function] = bucket.accepted.get(function, 0.0) + (grown if grown >= 0 else total)
        bucket.deliveries += max(later.deliveries - earlier.deliveries, 0.0)
        bucket.delivery_seconds += max(later.delivery_seconds - earlier.delivery_seconds, 0.0)
        bucket.depths = by_participant(later.depths)
    # A bucket with no sample of its own holds the depths of the one before.
    for bucket in found:
        if bucket.depths:
            depths = bucket.depths
        else:
            bucket.depths = depths
    return found


def by_participant(depths: dict[tuple[str, str], int]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for (participant, _function), depth in depths.items():
        totals[participant] += depth
    return dict(totals)


def dashboard_charts(found: list[Bucket], width: str) -> tuple[Chart, Chart, Chart]:
    moments = [bucket.start.astimezone(MARKET_TIME) for bucket in found]
    functions = sorted({function for bucket in found for function in bucket.accepted})
    accepted = stacked_bars(
        f"Messages accepted per {width}, by business function",
        f"Messages the exchange accepted in each {width} (market time), stacked by business function; the table "
        "gives the rate per second.",
        moments,
        {function: [round(bucket.accepted.get(function, 0.0)) for bucket in found] for function in functions},
        bucket_heading="From",
    )
    lag = step_chart(
        "Mean delivery lag",
        f"Mean seconds from a message's acceptance to its delivery being queued, for the deliveries of each {width}; "
        "0 where nothing was delivered.",
        moments[0],
        found[-1].start.astimezone(MARKET_TIME) + timedelta(seconds=found[-1].seconds),
        [(moment, round(bucket.mean_lag or 0.0, 3)) for moment, bucket in zip(moments, found, strict=True)],
        value_heading="Seconds",
    )
    biggest = sorted(
        {p for bucket in found for p in bucket.depths}, key=lambda p: (-max(b.depths.get(p, 0) for b in found), p)
    )
    drawn = biggest[:MOST_PARTICIPANTS_DRAWN]
    stacks = {participant: [bucket.depths.get(participant, 0) for bucket in found] for participant in drawn}
    if len(biggest) > len(drawn):
        stacks[OTHERS] = [sum(n for p, n in bucket.depths.items() if p not in drawn) for bucket in found]
    depths = stacked_bars(
        "Messages waiting, by participant",
        f"Messages waiting in participants' queues at the end of each {width}, every business function together, "
        f"stacked by participant (the {MOST_PARTICIPANTS_DRAWN} with the deepest queues; the rest as others).",
        moments,
        stacks,
        bucket_heading="At",
    )
    return accepted, lag, depths


def dashboard_handler(web: Web, sampler: MetricsSampler) -> Any:
    @get("/admin/dashboard")
    async def dashboard(request: Request[Any, Any, Any]) -> Template:
        session = web.session(request, ENTITY)
        hours = _hours(request.query_params.get("hours"))
        now = await sampler.sample()
        samples = [*sampler.kept(), now]
        first = samples[0].at
        start = max(now.at - timedelta(hours=hours), first)
        found = buckets(samples, start, now.at)
        width = _duration(found[0].seconds if len(found) > 1 else SAMPLE_SECONDS)
        accepted, lag, depths = dashboard_charts(found, width)
        queues = sorted(now.depths.items(), key=lambda item: (-item[1], item[0]))
        totals = Bucket(start, (now.at - start).total_seconds())
        for bucket in found:
            for function, count in bucket.accepted.items():
                totals.accepted[function] = totals.accepted.get(function, 0.0) + count
            totals.deliveries += bucket.deliveries
            totals.delivery_seconds += bucket.delivery_seconds
        return web.render(
            request,
            "admin_dashboard.html",
            session,
            screen="admin",
            charts=(accepted, lag, depths),
            buckets=found,
            totals=totals,
            queues=queues,
            since=start.astimezone(MARKET_TIME),
            now=now.at.astimezone(MARKET_TIME),
            sample_seconds=int(SAMPLE_SECONDS),
            kept_hours=int(KEPT.total_seconds() // 3600),
            hours=hours,
            hour_choices=HOUR_CHOICES,
        )

    return dashboard


def _hours(value: str | None) -> int:
    try:
        hours = int(value or HOUR_CHOICES[0])
    except ValueError:
        return HOUR_CHOICES[0]
    return min(max(hours, 1), HOUR_CHOICES[-1])


def _duration(seconds: float) -> str:
    if seconds % 60:
        return f"{seconds:g} seconds"
    minutes = int(seconds // 60)
    return "minute" if minutes == 1 else f"{minutes} minutes"
