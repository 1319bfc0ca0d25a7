"""Assembling the web app: its screens under `/app`, its templates, its static files and its live socket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Router, get
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from exchange.domain.markettime import MARKET_TIME
from exchange.domain.participants import CORE_ROLES
from exchange.functions.registry import Registry
from exchange.kernel.clock import Clock
from exchange.services.access import TokenIssuer, entity_catalogue
from exchange.services.cross_process import SignOuts
from exchange.services.event_feed import EventFeed
from exchange.services.metrics import MetricsSampler
from exchange.web.admin import ADMIN_SCREEN, Catalogue, admin_handlers
from exchange.web.api_client import ExchangeApi
from exchange.web.archive import archive_handlers
from exchange.web.certificates import SCREEN as CERTIFICATES_SCREEN
from exchange.web.certificates import certificates_handlers
from exchange.web.chart_pages import chart_handlers
from exchange.web.dashboard import dashboard_handler
from exchange.web.environment import Environment
from exchange.web.flowcontrol import flowcontrol_handlers
from exchange.web.live import live_handler
from exchange.web.pages import ServesScreens, Web, problem_handlers
from exchange.web.queue import queue_handlers, queue_screens
from exchange.web.session import Sessions
from exchange.web.signin import signin_handlers
from exchange.web.translog import translog_handlers

HERE = Path(__file__).parent


@dataclass(frozen=True)
class WebApp:
    routes: list[Any]
    templates: TemplateConfig[JinjaTemplateEngine]


def web_app(
    tokens: TokenIssuer,
    clock: Clock,
    sign_outs: SignOuts,
    feed: EventFeed,
    environment: str,
    registry: Registry,
    metrics: MetricsSampler,
) -> WebApp:
    """The web app's routes and templates: the core's screens and each business function's own."""
    sessions = Sessions(tokens, clock, sign_outs)
    web = Web(sessions, Environment(environment))
    web.screens.extend([*queue_screens(registry), CERTIFICATES_SCREEN])
    plugin_screens = [function.screens(web) for function in registry if isinstance(function, ServesScreens)]
    for screens_of in plugin_screens:
        web.screens.extend(screens_of.navigation)
    web.screens.append(ADMIN_SCREEN)
    catalogue = Catalogue(
        sorted(registry.roles() | CORE_ROLES), entity_catalogue(registry), [function.id for function in registry]
    )
    screens = Router(
        path="/app",
        route_handlers=[
            *signin_handlers(web),
            *translog_handlers(web),
            *archive_handlers(web),
            *flowcontrol_handlers(web),
            *queue_handlers(web, registry),
            *certificates_handlers(web, clock),
            *chart_handlers(web, clock),
            *(handler for screens_of in plugin_screens for handler in screens_of.handlers),
            *admin_handlers(web, catalogue),
            dashboard_handler(web, metrics),
            live_handler(feed, sessions),
        ],
        exception_handlers=problem_handlers(web),
        include_in_schema=False,
    )
    static = create_static_files_router(
        path="/app/static", directories=[HERE / "static"], include_in_schema=False, name="web-static"
    )

    @get("/", include_in_schema=False)
    async def root(request: Request[Any, Any, Any]) -> Redirect:
        return Redirect("/app", status_code=303)

    directories = [HERE / "templates", *(screens_of.templates for screens_of in plugin_screens)]
    return WebApp([screens, static, root], template_config(directories))


def template_config(directories: list[Path]) -> TemplateConfig[JinjaTemplateEngine]:
    def add_filters(engine: JinjaTemplateEngine) -> None:
        engine.engine.filters.update(market_time=market_time, size=size)

    return TemplateConfig(directory=[*directories], engine=JinjaTemplateEngine, engine_callback=add_filters)


async def close_api(app: Litestar) -> None:
    await ExchangeApi.close_of(app)


def market_time(value: str | None) -> str:
    """An API timestamp as market time (AEST), to the second, the way the screens show every time."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(MARKET_TIME)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def size(value: int | None) -> str:
    if value is None:
        return ""
    if value < 1024:
        return f"{value} B"
    if value < 1024 * 1024:
        return f"{value / 1024:.1f} KiB"
    return f"{value / 1024 / 1024:.1f} MiB"
