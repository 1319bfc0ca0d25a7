"""The operator's screens (`IDX_ADMIN`): participants and their clients, DUIDs, NMIs, watermark overrides and
outage announcements.

Like every screen they are made of the administration API's calls, with the operator's own token, so that the
rules (roles, ids, dates, watermark order) are the API's and a refusal is shown at the field it names.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.response import Redirect, Template

from exchange.web.api_client import ApiProblemError
from exchange.web.pages import Screen, Web, page_query, typed_number, with_query
from exchange.web.session import Session

ENTITY = "IDX_ADMIN"
ADMIN_SCREEN = Screen("admin", "Administration", "/app/admin", ENTITY)
ADMIN = "/admin/v1"
PAGE_SIZE = 20
T = TypeVar("T")


@dataclass(frozen=True)
class Catalogue:
    """What the forms offer: the roles a participant may hold, the entities a client may, the business functions."""

    roles: Sequence[str]
    entities: Sequence[str]
    functions: Sequence[str]


async def attempt(call: Awaitable[T]) -> tuple[T | None, ApiProblemError | None]:
    """The API's answer, or the problem it answered with (4xx) for the form to show; 5xx and 401 go on up."""
    try:
        return await call, None
    except ApiProblemError as problem:
        if problem.status >= 500 or problem.status == 401:
            raise
        return None, problem


def field_errors(problem: ApiProblemError | None) -> dict[str, list[str]]:
    """Messages by the field the API named (`roles[0]` counts as `roles`)."""
    found: dict[str, list[str]] = {}
    for error in problem.errors if problem else []:
        name = str(error.get("field") or "").split("[", 1)[0]
        found.setdefault(name, []).append(str(error.get("message")))
    return found


def admin_handlers(web: Web, catalogue: Catalogue) -> list[Any]:
    def render(
        request: Request[Any, Any, Any],
        template: str,
        session: Session,
        *,
        problem: ApiProblemError | None = None,
        status_code: int = 200,
        **context: Any,
    ) -> Template:
        if problem is not None:
            status_code = problem.status
        return web.render(
            request,
            template,
            session,
            screen="admin",
            problem=problem,
            errors=field_errors(problem),
            catalogue=catalogue,
            status_code=status_code,
            **context,
        )

    def done(path: str, text: str) -> Redirect:
        return Redirect(with_query(path, {"done": text}), status_code=303)

    async def api(request: Request[Any, Any, Any], session: Session, method: str, path: str, **options: Any) -> Any:
        return await web.api(request).data(session, method, path, **options)

    async def posted(request: Request[Any, Any, Any], *names: str) -> tuple[Session, dict[str, str]]:
        """The signed-in session and the named fields of the form it posted, trimmed: what the screen shows again."""
        session = web.session(request, ENTITY)
        form = await request.form()
        return session, {name: _text(form, name) for name in names}

    # Participants

    async def participants_page(
        request: Request[Any, Any, Any],
        session: Session,
        problem: ApiProblemError | None = None,
        typed: dict[str, Any] | None = None,
    ) -> Template:
        cursor = request.query_params.get("cursor")
        params = page_query(cursor, PAGE_SIZE)
        answer = (await web.api(request).call(session, "GET", f"{ADMIN}/participants", params=params)).json()
        return render(
            request,
            "admin_participants.html",
            session,
            problem=problem,
            page=answer,
            typed=typed or {"participantId": "", "name": "", "roles": []},
            cursor=cursor,
        )

    @get("/admin")
    async def participants(request: Request[Any, Any, Any]) -> Template:
        return await participants_page(request, web.session(request, ENTITY))

    @post("/admin/participants")
    async def register(request: Request[Any, Any, Any]) -> Response[Any] | Template:
        session = web.session(request, ENTITY)
        form = await request.form()
        typed = {
            "participantId": _text(form, "participantId"),
            "name": _text(form, "name"),
            "roles": _all(form, "roles"),
        }
        _, problem = await attempt(api(request, session, "POST", f"{ADMIN}/participants", json=typed))
        if problem is not None:
            return await participants_page(request, session, problem, typed)
        return done(
            f"/app/admin/participants/{typed['participantId']}", f"Participant {typed['participantId']} registered."
        )

    async def participant_page(
        request: Request[Any, Any, Any],
        session: Session,
        participant_id: str,
        *,
        problem: ApiProblemError | None = None,
        form: str | None = None,
        issued: dict[str, Any] | None = None,
        typed: dict[str, str] | None = None,
    ) -> Template:
        participant = await api(request, session, "GET", f"{ADMIN}/participants/{_segment(participant_id)}")
        clients = await api(request, session, "GET", f"{ADMIN}/participants/{_segment(participant_id)}/clients")
        return render(
            request,
            "admin_participant.html",
            session,
            problem=problem,
            failed_form=form,
            participant=participant,
            clients=clients,
            issued=issued,
            typed=typed or {},
        )

    @get("/admin/participants/{participant_id:str}")
    async def participant(request: Request[Any, Any, Any], participant_id: str) -> Template:
        return await participant_page(request, web.session(request, ENTITY), participant_id)

    @post("/admin/participants/{participant_id:str}/status")
    async def set_status(request: Request[Any, Any, Any], participant_id: str) -> Response[Any] | Template:
        session, body = await posted(request, "status", "reason")
        path = f"{ADMIN}/participants/{_segment(participant_id)}"
        changed, problem = await attempt(api(request, session, "PATCH", path, json=body))
        if problem is not None or changed is None:
            return await participant_page(request, session, participant_id, problem=problem, form="status")
        return done(f"/app/admin/participants/{_segment(participant_id)}", f"{participant_id} is {changed['status']}.")

    @post("/admin/participants/{participant_id:str}/clients")
    async def add_client(request: Request[Any, Any, Any], participant_id: str) -> Template:
        session = web.session(request, ENTITY)
        body = {"scopes": _all(await request.form(), "scopes")}
        path = f"{ADMIN}/participants/{_segment(participant_id)}/clients"
        issued, problem = await attempt(api(request, session, "POST", path, json=body))
        # The secret is shown on this answer only: it is not kept anywhere to be shown again.
        return await participant_page(request, session, participant_id, problem=problem, form="client", issued=issued)

    @post("/admin/participants/{participant_id:str}/clients/{client_id:str}/rotate")
    async def rotate(request: Request[Any, Any, Any], participant_id: str, client_id: str) -> Template:
        session = web.session(request, ENTITY)
        path = f"{ADMIN}/participants/{_segment(participant_id)}/clients/{_segment(client_id)}/rotate"
        issued, problem = await attempt(api(request, session, "POST", path))
        return await participant_page(request, session, participant_id, problem=problem, form="client", issued=issued)

    @get("/admin/participants/{participant_id:str}/clients/{client_id:str}/revoke")
    async def confirm_revoke(request: Request[Any, Any, Any], participant_id: str, client_id: str) -> Template:
        session = web.session(request, ENTITY)
        return render(request, "admin_revoke.html", session, participant_id=participant_id, client_id=client_id)

    @post("/admin/participants/{participant_id:str}/clients/{client_id:str}/revoke")
    async def revoke(request: Request[Any, Any, Any], participant_id: str, client_id: str) -> Response[Any]:
        session = web.session(request, ENTITY)
        await web.api(request).call(
            session, "DELETE", f"{ADMIN}/participants/{_segment(participant_id)}/clients/{_segment(client_id)}"
        )
        return done(f"/app/admin/participants/{_segment(participant_id)}", f"Client {client_id} revoked.")

    @post("/admin/participants/{participant_id:str}/watermarks")
    async def watermarks(request: Request[Any, Any, Any], participant_id: str) -> Response[Any] | Template:
        session, typed = await posted(request, "businessFunctionId", "low", "warn", "high")
        function = typed["businessFunctionId"]
        body = {name: typed_number(typed[name]) for name in ("low", "warn", "high")}
        path = f"{ADMIN}/participants/{_segment(participant_id)}/flowcontrol/{_segment(function)}"
        _, problem = await attempt(api(request, session, "PUT", path, json=body))
        if problem is not None:
            return await participant_page(
                request, session, participant_id, problem=problem, form="watermarks", typed=typed
            )
        text = f"Watermarks of {participant_id} for {function}: {body['low']}, {body['warn']}, {body['high']}."
        return done(f"/app/admin/participants/{_segment(participant_id)}", text)

    # DUIDs

    async def duids_page(
        request: Request[Any, Any, Any],
        session: Session,
        problem: ApiProblemError | None = None,
        typed: dict[str, str] | None = None,
    ) -> Template:
        units = await api(request, session, "GET", f"{ADMIN}/duids")
        typed = typed or dict.fromkeys(("duid", "participantId", "stationId", "maxCapacityMW"), "")
        return render(request, "admin_duids.html", session, problem=problem, units=units, typed=typed)

    @get("/admin/duids")
    async def duids(request: Request[Any, Any, Any]) -> Template:
        return await duids_page(request, web.session(request, ENTITY))

    @post("/admin/duids")
    async def register_unit(request: Request[Any, Any, Any]) -> Response[Any] | Template:
        session, typed = await posted(request, "duid", "participantId", "stationId", "maxCapacityMW")
        body = {**typed, "maxCapacityMW": typed_number(typed["maxCapacityMW"])}
        _, problem = await attempt(api(request, session, "POST", f"{ADMIN}/duids", json=body))
        if problem is not None:
            return await duids_page(request, session, problem, typed)
        return done(f"/app/admin/duids/{typed['duid']}", f"DUID {typed['duid']} registered.")

    async def duid_page(
        request: Request[Any, Any, Any],
        session: Session,
        duid: str,
        problem: ApiProblemError | None = None,
        typed: dict[str, str] | None = None,
    ) -> Template:
        unit = await api(request, session, "GET", f"{ADMIN}/duids/{_segment(duid)}")
        typed = typed or {"participantId": "", "fromDate": ""}
        return render(request, "admin_duid.html", session, problem=problem, unit=unit, typed=typed)

    @get("/admin/duids/{duid:str}")
    async def duid(request: Request[Any, Any, Any], duid: str) -> Template:
        return await duid_page(request, web.session(request, ENTITY), duid)

    @post("/admin/duids/{duid:str}/transfer")
    async def transfer(request: Request[Any, Any, Any], duid: str) -> Response[Any] | Template:
        session, typed = await posted(request, "participantId", "fromDate")
        _, problem = await attempt(api(request, session, "PUT", f"{ADMIN}/duids/{_segment(duid)}", json=typed))
        if problem is not None:
            return await duid_page(request, session, duid, problem, typed)
        return done(
            f"/app/admin/duids/{_segment(duid)}",
            f"DUID {duid} passes to {typed['participantId']} on {typed['fromDate']}.",
        )

    # NMIs

    async def nmis_page(
        request: Request[Any, Any, Any],
        session: Session,
        nmi: str,
        problem: ApiProblemError | None = None,
        typed: dict[str, str] | None = None,
    ) -> Template:
        record, missing = (None, None)
        if nmi:
            record, missing = await attempt(api(request, session, "GET", f"{ADMIN}/nmis/{_segment(nmi)}"))
        typed = typed or {"nmi": nmi, "mc": "", "mdp": "", "lnsp": "", "fromDate": ""}
        return render(
            request, "admin_nmis.html", session, problem=problem, nmi=nmi, record=record, missing=missing, typed=typed
        )

    @get("/admin/nmis")
    async def nmis(request: Request[Any, Any, Any]) -> Template:
        session = web.session(request, ENTITY)
        return await nmis_page(request, session, (request.query_params.get("nmi") or "").strip())

    @post("/admin/nmis")
    async def record_nmi(request: Request[Any, Any, Any]) -> Response[Any] | Template:
        session, typed = await posted(request, "nmi", "mc", "mdp", "lnsp", "fromDate")
        _, problem = await attempt(api(request, session, "POST", f"{ADMIN}/nmis", json=typed))
        if problem is not None:
            return await nmis_page(request, session, "", problem, typed)
        text = f"NMI {typed['nmi']}: {typed['mdp']} answers from {typed['fromDate']}."
        return Redirect(with_query("/app/admin/nmis", {"nmi": typed["nmi"], "done": text}), status_code=303)

    # Outages

    @get("/admin/outage")
    async def outage(request: Request[Any, Any, Any]) -> Template:
        return render(request, "admin_outage.html", web.session(request, ENTITY), typed="")

    @post("/admin/outage")
    async def announce(request: Request[Any, Any, Any]) -> Response[Any] | Template:
        session, form = await posted(request, "detail")
        detail = form["detail"]
        announced, problem = await attempt(api(request, session, "POST", f"{ADMIN}/outages", json={"detail": detail}))
        if problem is not None or announced is None:
            return render(request, "admin_outage.html", session, problem=problem, typed=detail)
        return done("/app/admin/outage", f"Outage announced to every participant at {announced['announcedDateTime']}.")

    return [
        participants,
        register,
        participant,
        set_status,
        add_client,
        rotate,
        confirm_revoke,
        revoke,
        watermarks,
        duids,
        register_unit,
        duid,
        transfer,
        nmis,
        record_nmi,
        outage,
        announce,
    ]


def _segment(value: str) -> str:
    """A value typed or taken from the screen's URL as one segment of an API path: `/`, `?` and `#` stay in it."""
    return quote(value, safe="")


def _text(form: FormMultiDict, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _all(form: FormMultiDict, name: str) -> list[str]:
    return [value for value in form.getall(name, []) if isinstance(value, str)]
