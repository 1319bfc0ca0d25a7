"""Flow control and participant status screens: counts against watermarks, the manual switch, the history."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from exchange.web.api_client import ApiProblemError, ExchangeApi
from exchange.web.pages import FormData, Web, api_timestamp, query_of, with_query
from exchange.web.session import Session

READ = "FCTRL_STATUS"
WRITE = "FCTRL_FCTRL"
HISTORY_FILTERS = ("participantId", "businessFunctionId", "fromDateTime", "toDateTime")


def flowcontrol_handlers(web: Web) -> list[Any]:
    async def flow_page(
        request: Request[Any, Any, Any], session: Session, *, status_code: int = 200, **context: Any
    ) -> Template:
        functions = await _functions(web.api(request), session)
        return web.render(
            request,
            "flowcontrol.html",
            session,
            screen="flowcontrol",
            functions=functions,
            may_switch=session.holds(WRITE),
            status_code=status_code,
            **context,
        )

    @get("/flowcontrol")
    async def overview(request: Request[Any, Any, Any]) -> Template:
        return await flow_page(request, web.session(request, READ))

    @post("/flowcontrol/{businessFunctionId:str}")
    async def switch(
        request: Request[Any, Any, Any],
        businessFunctionId: str,  # noqa: N803
        data: FormData,
    ) -> Response[Any] | Template:
        session = web.session(request, WRITE)
        delivery = data.get("messageDelivery", "")
        try:
            await web.api(request).call(
                session,
                "PATCH",
                f"/idx/v1/flowcontrol/businessFunctions/{businessFunctionId}",
                json={"messageDelivery": delivery},
            )
        except ApiProblemError as problem:
            if problem.status not in (400, 404, 409, 422, 429):
                raise
            # Shown on the screen itself, next to the switch, rather than on an error page.
            return await flow_page(request, session, status_code=problem.status, problem=problem)
        done = "stopped" if delivery == "Stopped" else "started"
        return Redirect(
            with_query("/app/flowcontrol", {"done": f"Delivery of {businessFunctionId} {done}."}), status_code=303
        )

    @get("/status")
    async def status(request: Request[Any, Any, Any]) -> Template:
        session = web.session(request, READ)
        api = web.api(request)
        filters = query_of(request, HISTORY_FILTERS)
        # Unless asked otherwise, the history is the participant's own; the current status is everyone's.
        chosen = {"participantId": session.participant_id, **filters}
        params = {name: api_timestamp(v) if name.endswith("DateTime") else v for name, v in chosen.items()}
        current = await api.data(session, "GET", "/idx/v1/participantStatus")
        history = await api.data(session, "GET", "/idx/v1/participantStatus/history", params=params)
        return web.render(
            request,
            "status.html",
            session,
            screen="status",
            current=current,
            own=[row for row in current if row["participantId"] == session.participant_id],
            functions=await _functions(api, session),
            history=list(reversed(history)),
            filters=chosen,
            reset_link=with_query("/app/status", {}),
        )

    return [overview, switch, status]


async def _functions(api: ExchangeApi, session: Session) -> list[dict[str, Any]]:
    """The detail of each business function the participant receives, with its resources."""
    listed = await api.data(session, "GET", "/idx/v1/flowcontrol/businessFunctions", params={"expand": "true"})
    return [
        await api.data(session, "GET", f"/idx/v1/flowcontrol/businessFunctions/{item['businessFunctionId']}")
        for item in listed["businessFunctions"]
    ]
