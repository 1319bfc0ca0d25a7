"""The Prudential screens (AEMO's WEMS guide §3 and §4): Prudential monitoring and Credit support.

Both are read through the plugin's own web services with the signed-in participant's token, so a participant
sees its own figures only; the operator names a participant.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.response import Template

from exchange.functions.prud.function import BASE_PATH, CREDIT_PATH
from exchange.web.api_client import ApiProblemError
from exchange.web.charts import Chart, Series, line_chart
from exchange.web.pages import PluginScreens, Screen, Web, query_of
from exchange.web.session import Session

ENTITY = "PRUDENTIAL"
TEMPLATES = Path(__file__).parent / "templates"
CALCULATION_TYPES = ("Current", "Forecast")
# The three download buttons: the file, the web service behind it, and the form it comes in.
DOWNLOADS = {
    "summary": ("", "text/csv"),
    "detail": ("/detail", "application/zip"),
    "estimation": ("/estimation", "text/csv"),
}
# The four series of the Prudential Securities chart (AEMO's WEMS guide §3.1): (JSON name, label).
SERIES = (
    ("creditSupport", "Credit support"),
    ("tradingLimit", "Trading limit"),
    ("outstandingAmount", "Outstanding amount"),
    ("tradingMargin", "Trading margin"),
)
PARAMETERS = (
    ("cumulativeEstimatedExposure", "Cumulative estimated exposure"),
    ("invoicedNotPaid", "Invoiced not paid"),
    ("prepayments", "Prepayments"),
    ("outstandingAmount", "Outstanding amount"),
    ("creditLimit", "Credit limit"),
    ("creditSupport", "Credit support"),
    ("tradingLimit", "Trading limit"),
    ("tradingMargin", "Trading margin"),
)


def prudential_screens(web: Web) -> PluginScreens:
    """The two Prudential screens, in the navigation of those who hold the entity."""
    navigation = [
        Screen("prudential", "Prudential monitoring", "/app/prudential", ENTITY),
        Screen("creditsupport", "Credit support", "/app/prudential/credit", ENTITY),
    ]
    return PluginScreens(prudential_handlers(web), TEMPLATES, navigation)


def securities_chart(history: list[dict[str, Any]]) -> Chart | None:
    """The four series over the as-at dates of `history`; None before anything is published."""
    moments = [datetime.fromisoformat(point["asAtDate"]) for point in history]
    return line_chart(
        "Prudential securities by as-at date",
        "Credit support, trading limit, outstanding amount and trading margin at each as-at date.",
        [
            Series(name, label, [(moment, float(point[name])) for moment, point in zip(moments, history, strict=True)])
            for name, label in SERIES
        ],
        moment_heading="As at",
        moment_format="%Y-%m-%d",
        number=_dollars,
    )


def _dollars(amount: float) -> str:
    """Short enough for the value axis: $250k, $1.5M."""
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(amount) >= scale:
            return f"${amount / scale:g}{suffix}"
    return f"${amount:g}"


def prudential_handlers(web: Web) -> list[Any]:
    async def data(request: Request[Any, Any, Any], session: Session, path: str, query: dict[str, str]) -> Any:
        """The service's data, or None where nothing has been published yet."""
        try:
            return await web.api(request).data(session, "GET", path, params=query)
        except ApiProblemError as problem:
            if problem.status == 404:
                return None
            raise

    @get("/prudential")
    async def monitoring(request: Request[Any, Any, Any]) -> Template:
        session = web.session(request, ENTITY)
        chosen = query_of(request, ("calculationType", "participantId"))
        calculation_type = chosen.get("calculationType", "Current")
        whose = {"participantId": chosen["participantId"]} if "participantId" in chosen else {}
        latest = await data(request, session, BASE_PATH, {**whose, "calculationType": calculation_type})
        history = await data(request, session, f"{BASE_PATH}/history", whose) or []
        return web.render(
            request,
            "prudential_monitoring.html",
            session,
            screen="prudential",
            latest=latest,
            history=history,
            chart=securities_chart(history),
            series=SERIES,
            parameters=PARAMETERS,
            calculation_type=calculation_type,
            calculation_types=CALCULATION_TYPES,
            participant_id=chosen.get("participantId", ""),
        )

    @get("/prudential/download")
    async def download(request: Request[Any, Any, Any]) -> Response[bytes]:
        """One of the three files for the latest as-at date, Current or Forecast as the radio button says."""
        session = web.session(request, ENTITY)
        chosen = query_of(request, ("calculationType", "participantId", "file"))
        suffix, accept = DOWNLOADS.get(chosen.get("file", ""), DOWNLOADS["summary"])
        query = {name: value for name, value in chosen.items() if name != "file"}
        answer = await web.api(request).call(session, "GET", f"{BASE_PATH}{suffix}", params=query, accept=accept)
        headers = {"Content-Disposition": answer.headers.get("content-disposition", "attachment")}
        return Response(answer.content, media_type=accept, headers=headers)

    @get("/prudential/credit")
    async def credit(request: Request[Any, Any, Any]) -> Template:
        session = web.session(request, ENTITY)
        chosen = query_of(request, ("participantId",))
        found = await data(request, session, CREDIT_PATH, chosen)
        instruments = (found or {}).get("instruments", [])
        limits = sorted((found or {}).get("creditLimits", []), key=lambda limit: limit["effectiveDate"], reverse=True)
        return web.render(
            request,
            "prudential_credit.html",
            session,
            screen="creditsupport",
            found=found,
            current=[i for i in instruments if i["status"] == "Executed"],
            historic=[i for i in instruments if i["status"] != "Executed"],
            limits=limits,
            current_limit=(found or {}).get("currentCreditLimit"),
            participant_id=chosen.get("participantId", ""),
        )

    return [monitoring, download, credit]
