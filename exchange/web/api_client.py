"""The public API, called in-process with the signed-in participant's token.

The web app reads and changes nothing by itself: every screen is made of the same calls a participant's own
system makes, so the same code checks tokens, entities, ownership, rules and limits for people and machines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from litestar import Litestar

from exchange.http.auth import in_process
from exchange.web.session import Session

_STATE_KEY = "web_api_client"


@dataclass
class ApiProblemError(Exception):
    """An RFC 9457 answer of the API, to show on the screen that asked."""

    status: int
    title: str
    detail: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    retry_after: str | None = None

    @classmethod
    def of(cls, response: httpx.Response) -> ApiProblemError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        return cls(
            status=response.status_code,
            title=str(body.get("title") or body.get("error") or response.reason_phrase),
            detail=str(body.get("detail") or body.get("error_description") or ""),
            errors=list(body.get("errors") or []),
            retry_after=response.headers.get("retry-after"),
        )


class ExchangeApi:
    def __init__(self, app: Litestar) -> None:
        # The base URL is never resolved: the transport hands each request to the application directly, marked as
        # the web app's own so that it does not count against the participant's rate limit.
        transport = httpx.ASGITransport(app=in_process(app))  # type: ignore[arg-type]  # Litestar's scope types are narrower
        self._client = httpx.AsyncClient(transport=transport, base_url="http://idx.internal")

    @classmethod
    def of(cls, app: Litestar) -> ExchangeApi:
        api = app.state.get(_STATE_KEY)
        if api is None:
            api = app.state[_STATE_KEY] = cls(app)
        assert isinstance(api, ExchangeApi)
        return api

    @classmethod
    async def close_of(cls, app: Litestar) -> None:
        api = app.state.get(_STATE_KEY)
        if isinstance(api, ExchangeApi):
            await api._client.aclose()

    async def call(
        self,
        session: Session | None,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: dict[str, str] | None = None,
        accept: str = "application/json",
    ) -> httpx.Response:
        """The API's answer; a problem (4xx, 5xx) raises `ApiProblemError` for the screen to show."""
        headers = {"Accept": accept, "Accept-Encoding": "identity"}
        if session is not None:
            headers["Authorization"] = f"Bearer {session.token}"
        response = await self._client.request(method, path, params=params, json=json, data=data, headers=headers)
        if response.status_code >= 400:
            raise ApiProblemError.of(response)
        return response

    async def data(self, session: Session, method: str, path: str, **options: Any) -> Any:
        """The `data` of a JSON answer."""
        return (await self.call(session, method, path, **options)).json()["data"]
