"""Recall plan screens for generators: list, view, create, modify, clone and delete.

Plans are read and written through the Generator Recall web services, so every rule of the business function
applies here unchanged; a broken rule comes back as an `Errors` item that the form shows at its entry and field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from exchange.functions.recall.function import BASE_PATH as SERVICE
from exchange.web.api_client import ApiProblemError
from exchange.web.pages import (
    FormData,
    PluginScreens,
    Screen,
    Web,
    form_text,
    matching,
    query_of,
    search_text,
    typed_number,
    with_query,
    with_search,
)
from exchange.web.session import Session

ENTITY = "GR_RECALL"
TEMPLATES = Path(__file__).parent / "templates"
LIST_FILTERS = ("StationId", "DUID", "StartDate", "EndDate")
SORTABLE = ("OutagePlanId", "DUID", "StationId", "MinStartDate", "MaxEndDate", "VersionDateTime")
DATE_FIELDS = ("StartDate", "EndDate")
STAGE_FIELDS = ("RecallMinutesStart", "RecallMinutesEnd", "MW", "RecallFlag")
COMMENT_FIELDS = ("Stage1Comment", "Stage2Comment")
# In the order of the form's columns: the days, each stage's recall times, MW and flag, then the stages' comments.
ENTRY_FIELDS = (*DATE_FIELDS, *(f"Stage{stage}{name}" for stage in (1, 2) for name in STAGE_FIELDS), *COMMENT_FIELDS)
NUMBER_FIELDS = tuple(
    name for name in ENTRY_FIELDS if name.startswith("Stage") and not name.endswith(("Flag", "Comment"))
)
PLAN_FIELDS = ("OutagePlanId", "OutagePlanDescription", "DUID")
MODES = ("create", "modify", "clone")


@dataclass
class PlanForm:
    """A plan as the form holds it: text as typed, so that a wrong value is shown back for correcting."""

    mode: str
    plan: dict[str, str]
    entries: list[dict[str, str]]
    cloned_from: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_version(cls, mode: str, version: dict[str, Any]) -> PlanForm:
        plan = {name: form_text(version.get(name)) for name in PLAN_FIELDS}
        entries = [
            {name: form_text(entry.get(name)) for name in ENTRY_FIELDS} for entry in version["RecallPlanEntries"]
        ]
        cloned_from = {}
        if mode == "clone":
            cloned_from = {"OutagePlanId": plan["OutagePlanId"], "DUID": plan["DUID"]}
            plan["OutagePlanId"] = ""
        return cls(mode, plan, entries, cloned_from)

    @classmethod
    def of_post(cls, data: dict[str, str]) -> PlanForm:
        mode = data.get("mode") if data.get("mode") in MODES else "create"
        count = int(data["entries"]) if data.get("entries", "").isdigit() else 0
        entries = [{name: data.get(f"e{index}.{name}", "").strip() for name in ENTRY_FIELDS} for index in range(count)]
        cloned_from = {
            name: data.get(f"ClonedFrom{name}", "").strip()
            for name in ("OutagePlanId", "DUID")
            if data.get(f"ClonedFrom{name}", "").strip()
        }
        plan = {name: data.get(name, "").strip() for name in PLAN_FIELDS}
        return cls(str(mode), plan, entries, cloned_from)

    def request_body(self, participant_id: str) -> dict[str, Any]:
        """The SubmitRecallPlan body; blanks are left out so that the rules name what is missing."""
        body: dict[str, Any] = {"ParticipantId": participant_id}
        body.update({name: value for name, value in self.plan.items() if value})
        body["RecallPlanEntries"] = [_entry_body(entry) for entry in self.entries]
        if self.cloned_from:
            body["ClonedFromOutagePlanId"] = self.cloned_from.get("OutagePlanId")
            body["ClonedFromDUID"] = self.cloned_from.get("DUID")
        return body


def recall_screens(web: Web) -> PluginScreens:
    """The recall plan screens, in the navigation of those who hold the entity."""
    navigation = [Screen("recall", "Recall plans", "/app/recall", ENTITY)]
    return PluginScreens(recall_handlers(web), TEMPLATES, navigation)


def recall_handlers(web: Web) -> list[Any]:
    async def call(request: Request[Any, Any, Any], session: Session, operation: str, body: dict[str, Any]) -> Any:
        return await web.api(request).data(session, "POST", f"{SERVICE}/{operation}", json=body)

    async def form_page(
        request: Request[Any, Any, Any],
        session: Session,
        form: PlanForm,
        errors: list[dict[str, Any]] | None = None,
        status_code: int = 200,
    ) -> Template:
        flags = (await call(request, session, "getRecallFlags", {}))["RecallFlags"]
        return web.render(
            request,
            "recall_form.html",
            session,
            screen="recall",
            form=form,
            flags=flags,
            errors=errors or [],
            field_errors=_by_field(errors or []),
            entry_fields=ENTRY_FIELDS,
            status_code=status_code,
        )

    async def latest(request: Request[Any, Any, Any], session: Session, duid: str, plan_id: str) -> dict[str, Any]:
        # No ParticipantId: the service answers for the caller (a generator's own plans, or all for the operator).
        found = await call(request, session, "getRecallPlan", {"DUID": duid, "OutagePlanId": plan_id})
        if not found["SuccessFlag"]:
            raise _not_found(found["Errors"])
        return dict(found)

    @get("/recall")
    async def plans(request: Request[Any, Any, Any]) -> Template:
        session = web.session(request, ENTITY)
        filters = query_of(request, LIST_FILTERS)
        text = search_text(request)
        sort = request.query_params.get("sort") or "MinStartDate"
        found = await call(request, session, "listRecallPlans", filters)
        rows = matching(found["RecallPlans"], text, ("OutagePlanId", "OutagePlanDescription", "DUID", "StationId"))
        key = sort.lstrip("-")
        if key in SORTABLE:
            rows.sort(key=lambda row: str(row.get(key) or ""), reverse=sort.startswith("-"))
        kept = with_search(filters, text)
        return web.render(
            request,
            "recall_list.html",
            session,
            screen="recall",
            rows=rows,
            errors=found["Errors"],
            filters=filters,
            text=text,
            sort=sort,
            sortable=SORTABLE,
            sort_link=lambda name: with_query("/app/recall", {**kept, "sort": f"-{name}" if sort == name else name}),
        )

    @get("/recall/new")
    async def new(request: Request[Any, Any, Any]) -> Template:
        session = web.session(request, ENTITY)
        return await form_page(request, session, PlanForm("create", dict.fromkeys(PLAN_FIELDS, ""), [_blank()]))

    @get("/recall/{duid:str}/{plan_id:str}")
    async def view(request: Request[Any, Any, Any], duid: str, plan_id: str) -> Template:
        session = web.session(request, ENTITY)
        plan = await latest(request, session, duid, plan_id)
        return web.render(
            request,
            "recall_view.html",
            session,
            screen="recall",
            plan=plan,
            entry_fields=ENTRY_FIELDS,
        )

    @get([f"/recall/{{duid:str}}/{{plan_id:str}}/{action}" for action in ("modify", "clone", "delete")])
    async def edit(request: Request[Any, Any, Any], duid: str, plan_id: str) -> Template:
        session = web.session(request, ENTITY)
        plan = await latest(request, session, duid, plan_id)
        action = request.url.path.rsplit("/", 1)[-1]
        if action == "delete":
            return web.render(request, "recall_delete.html", session, screen="recall", plan=plan)
        return await form_page(request, session, PlanForm.of_version(action, plan))

    @post("/recall/{duid:str}/{plan_id:str}/delete")
    async def delete(request: Request[Any, Any, Any], duid: str, plan_id: str) -> Response[Any] | Template:
        session = web.session(request, ENTITY)
        body = {"ParticipantId": session.participant_id, "OutagePlanId": plan_id, "DUID": duid, "RecallPlanEntries": []}
        answer = await call(request, session, "submitRecallPlan", body)
        if not answer["SuccessFlag"]:
            plan = await latest(request, session, duid, plan_id)
            return web.render(
                request, "recall_delete.html", session, screen="recall", plan=plan, errors=answer["Errors"],
                status_code=422,
            )  # fmt: skip
        return Redirect(
            with_query("/app/recall", {"done": f"Recall plan {plan_id} of {duid} deleted."}), status_code=303
        )

    @post("/recall")
    async def save(
        request: Request[Any, Any, Any],
        data: FormData,
    ) -> Response[Any] | Template:
        session = web.session(request, ENTITY)
        form = PlanForm.of_post(data)
        action = data.get("action", "save")
        # Adding and removing entries are round trips of the form itself: no script needed, nothing sent yet.
        if action == "add":
            form.entries.append(_blank())
            return await form_page(request, session, form)
        if action.startswith("remove:") and action[7:].isdigit():
            index = int(action[7:])
            if 0 <= index < len(form.entries):
                del form.entries[index]
            return await form_page(request, session, form)
        if not form.entries:
            missing = [{"ErrorMessage": "add at least one entry (to delete a plan, use Delete on the list)",
                        "EntryNumber": 0, "EntryField": "RecallPlanEntries"}]  # fmt: skip
            return await form_page(request, session, form, missing, status_code=422)
        answer = await call(request, session, "submitRecallPlan", form.request_body(session.participant_id))
        if not answer["SuccessFlag"]:
            return await form_page(request, session, form, answer["Errors"], status_code=422)
        duid, plan_id = form.plan["DUID"], form.plan["OutagePlanId"]
        verb = {"create": "created", "modify": "saved", "clone": "cloned"}[form.mode]
        done = f"Recall plan {plan_id} {verb}: version {answer['Version']} at {answer['VersionDateTime']}."
        return Redirect(with_query(f"/app/recall/{duid}/{plan_id}", {"done": done}), status_code=303)

    return [plans, new, view, edit, delete, save]


def _blank() -> dict[str, str]:
    return dict.fromkeys(ENTRY_FIELDS, "")


def _entry_body(entry: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name, value in entry.items():
        if not value:
            body[name] = None
        elif name in NUMBER_FIELDS:
            body[name] = typed_number(value)
        else:
            body[name] = value
    return body


def _by_field(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Messages by form field: `OutagePlanId` for the plan, `e0.Stage1MW` for the first entry's field."""
    found: dict[str, list[str]] = {}
    for error in errors:
        number, name = int(error.get("EntryNumber") or 0), str(error.get("EntryField") or "")
        key = name if number == 0 else f"e{number - 1}.{name}"
        found.setdefault(key, []).append(str(error.get("ErrorMessage")))
    return found


def _not_found(errors: list[dict[str, Any]]) -> Exception:
    detail = "; ".join(str(error.get("ErrorMessage")) for error in errors) or "no such recall plan"
    return ApiProblemError(status=404, title="Recall plan not found", detail=detail)
