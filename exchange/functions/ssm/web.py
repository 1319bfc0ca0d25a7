"""The "DUID schedule" and "Region schedule" screens: a chart of MW over the intervals, its legend, a table below.

Both read `GET /ssm/v1/schedules/...` with the signed-in participant's token, so a provider sees its own DUIDs
only, exactly as the API answers; a filter the API refuses comes back as its problem, shown on the page.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from litestar import Request, get
from litestar.response import Template

from exchange.domain.markettime import MARKET_TIME
from exchange.functions.ssm.rules import ENABLEMENT_STATUSES, REGIONS
from exchange.web.api_client import ApiProblemError
from exchange.web.charts import Chart, Series, line_chart
from exchange.web.pages import PluginScreens, Screen, Web, api_filters, query_of
from exchange.web.session import Session

ENTITY = "SSM_SCHEDULE"
TEMPLATES = Path(__file__).parent / "templates"
SERVICE = "/ssm/v1/schedules"
# What each legend entry means (AEMO's System Security Scheduler guide: the screens come with their legends).
LEGEND = {
    "ENABLED": "The unit is scheduled to be enabled for system security in the interval.",
    "NOT_ENABLED": "The unit is not scheduled to be enabled in the interval.",
    "requirementMW": "The region's system security requirement for the interval.",
    "enabledMW": "What the enabled units provide towards it.",
}


def schedule_screens(web: Web) -> PluginScreens:
    """The two schedule screens, in the navigation of those who hold the entity."""
    navigation = [
        Screen("ssm-duid", "DUID schedule", "/app/ssm/duid", ENTITY),
        Screen("ssm-region", "Region schedule", "/app/ssm/region", ENTITY),
    ]
    return PluginScreens(schedule_handlers(web), TEMPLATES, navigation)


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(MARKET_TIME)


def _mw_chart(title: str, series: dict[str, list[tuple[datetime, float]]]) -> Chart | None:
    return line_chart(
        f"{title}: MW over the intervals",
        "Megawatts of each series at each five-minute interval (market time); the table below gives every row.",
        [Series(label, label, points) for label, points in sorted(series.items())],
        moment_heading="Interval",
    )


def schedule_handlers(web: Web) -> list[Any]:
    async def rows(
        request: Request[Any, Any, Any], session: Session, path: str, params: dict[str, str]
    ) -> tuple[list[dict[str, Any]], ApiProblemError | None]:
        """The schedule's rows, or the API's refusal of the filters (shown on the page, with its status)."""
        try:
            return list(await web.api(request).data(session, "GET", path, params=api_filters(params))), None
        except ApiProblemError as problem:
            if problem.status == 401:
                raise
            return [], problem

    def schedule_page(
        request: Request[Any, Any, Any],
        session: Session,
        kind: str,
        title: str,
        filters: dict[str, str],
        found: list[dict[str, Any]],
        problem: ApiProblemError | None,
        **context: Any,
    ) -> Template:
        """A schedule screen of `kind` (`duid` or `region`): the rows found, or the API's refusal with its status."""
        return web.render(
            request,
            "ssm_schedule.html",
            session,
            screen=f"ssm-{kind}",
            kind=kind,
            title=title,
            filters=filters,
            rows=found,
            problem=problem,
            status_code=problem.status if problem else 200,
            regions=REGIONS,
            **context,
        )

    @get("/ssm/duid")
    async def duid_schedule(request: Request[Any, Any, Any]) -> Template:
        session = web.session(request, ENTITY)
        filters = query_of(request, ("duid", "fromDateTime", "toDateTime"))
        found: list[dict[str, Any]] = []
        problem: ApiProblemError | None = None
        if "duid" in filters:
            found, problem = await rows(request, session, f"{SERVICE}/duid", filters)
        points = [(_moment(row["intervalDateTime"]), row["enablementMW"]) for row in found]
        return schedule_page(
            request,
            session,
            "duid",
            "DUID schedule",
            filters,
            found,
            problem,
            chart=_mw_chart("DUID schedule", {filters.get("duid", ""): points}),
            legend={status: LEGEND[status] for status in ENABLEMENT_STATUSES},
        )

    @get("/ssm/region")
    async def region_schedule(request: Request[Any, Any, Any]) -> Template:
        session = web.session(request, ENTITY)
        filters = query_of(request, ("regionId", "fromDateTime", "toDateTime"))
        found, problem = await rows(request, session, f"{SERVICE}/region", filters)
        series: dict[str, list[tuple[datetime, float]]] = {}
        for row in found:
            moment = _moment(row["intervalDateTime"])
            series.setdefault(f"{row['regionId']} requirement", []).append((moment, row["requirementMW"]))
            series.setdefault(f"{row['regionId']} enabled", []).append((moment, row["enabledMW"]))
        return schedule_page(
            request,
            session,
            "region",
            "Region schedule",
            filters,
            found,
            problem,
            chart=_mw_chart("Region schedule", series),
            legend={name: LEGEND[name] for name in ("requirementMW", "enabledMW")},
        )

    return [duid_schedule, region_schedule]
