"""What every screen shares: the session, the navigation, rendering, and the answers to problems."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Protocol, runtime_checkable
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from exchange.domain.markettime import MARKET_TIME
from exchange.web.api_client import ApiProblemError, ExchangeApi
from exchange.web.environment import Environment
from exchange.web.session import (
    COOKIE,
    ForeignOriginError,
    MissingEntityError,
    NotSignedInError,
    Session,
    Sessions,
    check_same_origin,
)


@dataclass(frozen=True)
class Screen:
    key: str
    title: str
    path: str
    entity: str


CORE_SCREENS = (
    Screen("translog", "Transaction log", "/app/translog", "TRANSLOG_TRANSLOG"),
    Screen("archive", "Outbound archive", "/app/archive", "ARCH_RETRIEVE"),
    Screen("flowcontrol", "Flow control", "/app/flowcontrol", "FCTRL_STATUS"),
    Screen("status", "Participant status", "/app/status", "FCTRL_STATUS"),
)


@dataclass(frozen=True)
class PluginScreens:
    """A business function's own screens: route handlers under `/app`, their templates, their navigation."""

    handlers: Sequence[Any]
    # A directory of templates; they may extend `base.html` and import `_macros.html` of the core's.
    templates: Path
    navigation: Sequence[Screen] = field(default_factory=tuple)


@runtime_checkable
class ServesScreens(Protocol):
    """A business function with web app screens of its own."""

    def screens(self, web: Web) -> PluginScreens: ...


class Web:
    """The web app's parts, handed to each screen's handlers."""

    def __init__(self, sessions: Sessions, environment: Environment) -> None:
        self.sessions = sessions
        self.environment = environment
        # The navigation: the core's screens, then those of the business functions, in the registry's order.
        self.screens: list[Screen] = list(CORE_SCREENS)

    def session(self, request: Request[Any, Any, Any], entity: str | None = None) -> Session:
        if request.method not in ("GET", "HEAD"):
            check_same_origin(request)
        return self.sessions.require(request, entity)

    @staticmethod
    def api(request: Request[Any, Any, Any]) -> ExchangeApi:
        return ExchangeApi.of(request.app)

    def render(
        self,
        request: Request[Any, Any, Any],
        template: str,
        session: Session | None,
        *,
        screen: str | None = None,
        status_code: int = 200,
        **context: Any,
    ) -> Template:
        visible = [s for s in self.screens if session is not None and session.holds(s.entity)]
        return Template(
            template_name=template,
            context={
                "request": request,
                "session": session,
                "screens": visible,
                "current": screen,
                "environment": self.environment,
                "here": _here(request),
                # The outcome of the form sent before a redirect (post, redirect, get), for the page's flash.
                "done": request.query_params.get("done"),
                **context,
            },
            status_code=status_code,
            headers=PAGE_HEADERS,
        )


PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'"
    ),
}


def _here(request: Request[Any, Any, Any]) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


# The fields of a posted HTML form, as a handler's `data`.
FormData = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def query_of(request: Request[Any, Any, Any], names: tuple[str, ...]) -> dict[str, str]:
    """The non-blank query parameters among `names`, as typed."""
    found = {}
    for name in names:
        value = request.query_params.get(name)
        if value is not None and value.strip():
            found[name] = value.strip()
    return found


def search_text(request: Request[Any, Any, Any]) -> str:
    """What a list screen's search box (`q`) holds, trimmed; empty when nothing is searched for."""
    return (request.query_params.get("q") or "").strip()


def matching(rows: list[dict[str, Any]], text: str, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """The rows with `text` in one of `fields`, whatever its case; every row when there is no text."""
    if not text:
        return rows
    needle = text.lower()
    return [row for row in rows if any(needle in str(row.get(name) or "").lower() for name in fields)]


def with_search(filters: dict[str, str], text: str) -> dict[str, str]:
    """A list screen's filters and its search, as its links keep them."""
    return {**filters, **({"q": text} if text else {})}


def api_timestamp(value: str) -> str:
    """A `datetime-local` value (market time) as the ISO 8601 timestamp with offset the API wants."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value  # the API names what is wrong with it
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=MARKET_TIME)
    return moment.isoformat(timespec="milliseconds")


def with_query(path: str, params: dict[str, str]) -> str:
    return path + ("?" + urlencode(params) if params else "")


def typed_number(value: str) -> float | int | str:
    """A number typed in a form; text that is not one goes as typed, for the API to refuse by name."""
    try:
        number = float(value)
    except ValueError:
        return value
    if not math.isfinite(number):
        return value  # "nan" and "inf" read as floats, but JSON has no such number
    return int(number) if number.is_integer() else number


def form_text(value: Any) -> str:
    """A value the API answered as a form field shows it: nothing for null, whole numbers without `.0`."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def api_filters(filters: dict[str, str]) -> dict[str, str]:
    """A screen's filters as the API takes them: `datetime-local` values (market time) as timestamps with offset."""
    return {name: api_timestamp(value) if name.endswith("DateTime") else value for name, value in filters.items()}


def page_query(cursor: str | None, item_count: int, **params: Any) -> dict[str, Any]:
    """The API's query for one page of a list: its parameters, the page size and the cursor when there is one."""
    return {**params, "itemCount": item_count, **({"cursor": cursor} if cursor else {})}


def page_links(path: str, kept: dict[str, str], cursor: str | None, next_cursor: str | None) -> dict[str, Any]:
    """The pager's links of a list screen: the next page while there is one, the first once the reader left it."""
    return {
        "next_link": with_query(path, {**kept, "cursor": next_cursor}) if next_cursor else None,
        "first_link": with_query(path, kept) if cursor else None,
    }


def sign_in_redirect(request: Request[Any, Any, Any], *, expired: bool) -> Response[Any]:
    target = with_query("/app/sign-in", {"next": _here(request), **({"expired": "1"} if expired else {})})
    if request.headers.get("hx-request"):
        # An htmx refresh follows the redirect itself; the whole page has to go instead.
        response: Response[Any] = Response(b"", headers={"HX-Redirect": target})
    else:
        response = Redirect(target, status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def problem_handlers(web: Web) -> dict[int | type[Exception], Any]:
    """How the web app answers what stops a screen: sign-in, a missing entity, or a problem the API answered."""

    def not_signed_in(request: Request[Any, Any, Any], _: NotSignedInError) -> Response[Any]:
        return sign_in_redirect(request, expired=COOKIE in request.cookies)

    def missing_entity(request: Request[Any, Any, Any], error: MissingEntityError) -> Template:
        session = web.sessions.find(request)
        return web.render(
            request, "problem.html", session, status_code=403, title="Not available to you", detail=str(error)
        )

    def foreign_origin(request: Request[Any, Any, Any], _: ForeignOriginError) -> Response[Any]:
        return Response("Refused: the request came from another site.", status_code=403, media_type="text/plain")

    def api_problem(request: Request[Any, Any, Any], problem: ApiProblemError) -> Response[Any]:
        if problem.status == 401:
            return sign_in_redirect(request, expired=True)
        session = web.sessions.find(request)
        return web.render(
            request,
            "problem.html",
            session,
            status_code=problem.status,
            title=problem.title,
            detail=problem.detail,
            errors=problem.errors,
            retry_after=problem.retry_after,
        )

    return {
        NotSignedInError: not_signed_in,
        MissingEntityError: missing_entity,
        ForeignOriginError: foreign_origin,
        ApiProblemError: api_problem,
    }
