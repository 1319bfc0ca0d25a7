"""The queue screens: the messages waiting for the participant, one screen per business function.

Generic over the registry: each business function's screen needs the entity that function's plugin declares
and lists its resources' queues through the same four calls a participant's system makes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from exchange.functions.protocol import BusinessFunction, Resource
from exchange.functions.registry import Registry
from exchange.web.api_client import ApiProblemError
from exchange.web.archive import message_facts
from exchange.web.pages import Screen, Web, api_filters, page_links, page_query, query_of, with_query
from exchange.web.session import Session
from exchange.web.translog import download

PAGE_SIZE = 50
FILTERS = ("priority", "fromDateTime", "toDateTime")
PRIORITIES = ("High", "Medium", "Low")


def queue_screens(registry: Registry) -> list[Screen]:
    """A navigation entry for each business function that participants send messages through.

    Functions whose messages only come from their own operations (recall plans, bids) have screens of their own;
    their queues (the operator's) are reachable from any queue screen's list of queues."""
    return [
        Screen(f"queue-{function.id}", f"{function.id.upper()} queue", f"/app/queue/{function.id}", function.entity)
        for function in registry
        if any(resource.accepts_submissions for resource in function.resources)
    ]


def queue_handlers(web: Web, registry: Registry) -> list[Any]:
    def function_of(function_id: str) -> BusinessFunction:
        for function in registry:
            if function.id == function_id:
                return function
        raise ApiProblemError(404, "Not found", f"{function_id} is not a business function")

    def resource_of(function: BusinessFunction, resource_id: str | None) -> Resource:
        for resource in function.resources:
            if resource_id in (None, resource.id):
                return resource
        raise ApiProblemError(404, "Not found", f"{function.id} has no resource {resource_id}")

    def queue_of(request: Request[Any, Any, Any], function_id: str, resource_id: str | None) -> _Queue:
        function = function_of(function_id)
        resource = resource_of(function, resource_id)
        return _Queue(function, resource, web.session(request, function.entity))

    def render(request: Request[Any, Any, Any], template: str, queue: _Queue, **context: Any) -> Template:
        return web.render(
            request,
            template,
            queue.session,
            screen=f"queue-{queue.function.id}",
            function=queue.function,
            resource=queue.resource,
            base=queue.base,
            **context,
        )

    async def fetched(
        request: Request[Any, Any, Any], function_id: str, resource_id: str, message_context_id: str
    ) -> tuple[_Queue, httpx.Response]:
        """A waiting message, fetched as the participant's own system would (GET of the resource's message)."""
        queue = queue_of(request, function_id, resource_id)
        return queue, await web.api(request).call(queue.session, "GET", f"{queue.api_path}/{message_context_id}")

    def queues_of(request: Request[Any, Any, Any]) -> list[dict[str, str]]:
        """Every queue the session may read, for moving between them."""
        session = web.sessions.require(request)
        return [
            {"function": function.id, "resource": resource.id, "path": f"/app/queue/{function.id}/{resource.id}"}
            for function in registry
            if session.holds(function.entity)
            for resource in function.resources
        ]

    @get(["/queue/{function_id:str}", "/queue/{function_id:str}/{resource_id:str}"])
    async def listing(request: Request[Any, Any, Any], function_id: str, resource_id: str | None = None) -> Template:
        queue = queue_of(request, function_id, resource_id)
        filters = query_of(request, FILTERS)
        cursor = request.query_params.get("cursor")
        params = page_query(cursor, PAGE_SIZE, **api_filters(filters))
        answer = (await web.api(request).call(queue.session, "GET", queue.api_path, params=params)).json()
        return render(
            request,
            "queue.html",
            queue,
            queues=queues_of(request),
            filters=filters,
            priorities=PRIORITIES,
            items=answer["data"],
            meta=answer["meta"],
            **page_links(queue.base, filters, cursor, answer["meta"]["nextCursor"]),
        )

    @get("/queue/{function_id:str}/{resource_id:str}/message/{message_context_id:str}")
    async def message(
        request: Request[Any, Any, Any], function_id: str, resource_id: str, message_context_id: str
    ) -> Template:
        queue, answer = await fetched(request, function_id, resource_id, message_context_id)
        return render(
            request, "queue_message.html", queue, message_context_id=message_context_id, **message_facts(answer)
        )

    @get("/queue/{function_id:str}/{resource_id:str}/message/{message_context_id:str}/payload")
    async def payload(
        request: Request[Any, Any, Any], function_id: str, resource_id: str, message_context_id: str
    ) -> Response[bytes]:
        _, answer = await fetched(request, function_id, resource_id, message_context_id)
        return download(answer.content, message_context_id, answer.headers)

    @get("/queue/{function_id:str}/{resource_id:str}/delete")
    async def confirm_delete(request: Request[Any, Any, Any], function_id: str, resource_id: str) -> Template:
        """Which messages are about to go, before anything changes: a page of its own, reachable by keyboard."""
        queue = queue_of(request, function_id, resource_id)
        return render(request, "queue_delete.html", queue, chosen=_chosen(request.query_params.getall("id", [])))

    @post("/queue/{function_id:str}/{resource_id:str}/delete")
    async def delete(request: Request[Any, Any, Any], function_id: str, resource_id: str) -> Response[Any] | Template:
        queue = queue_of(request, function_id, resource_id)
        form = await request.form()
        chosen = _chosen([str(value) for value in form.getall("id", [])])
        api = web.api(request)
        deleted: list[str] = []
        failed: list[tuple[str, str]] = []
        for message_context_id in chosen:
            try:
                await api.call(queue.session, "DELETE", f"{queue.api_path}/{message_context_id}")
            except ApiProblemError as problem:
                if problem.status not in (404, 409, 422):
                    raise
                failed.append((message_context_id, problem.detail or problem.title))
            else:
                deleted.append(message_context_id)
        if failed:
            return render(
                request, "queue_delete.html", queue, chosen=[], deleted=deleted, failed=failed, status_code=422
            )
        if not deleted:
            return Redirect(
                with_query(queue.base, {"done": "No message was chosen; nothing was deleted."}), status_code=303
            )
        done = f"Deleted {deleted[0]}." if len(deleted) == 1 else f"Deleted {len(deleted)} messages."
        return Redirect(with_query(queue.base, {"done": done}), status_code=303)

    return [listing, message, payload, confirm_delete, delete]


@dataclass(frozen=True)
class _Queue:
    """One resource's queue of a business function, as the signed-in participant reads it."""

    function: BusinessFunction
    resource: Resource
    session: Session

    @property
    def base(self) -> str:
        """The screen's own path."""
        return f"/app/queue/{self.function.id}/{self.resource.id}"

    @property
    def api_path(self) -> str:
        """The API's path of the queue, as a participant's system calls it."""
        return f"/{self.function.id}/v1/{self.resource.id}"


def _chosen(values: list[str]) -> list[str]:
    """The message context ids picked, each once, in the order given."""
    return list(dict.fromkeys(value.strip() for value in values if value.strip()))
