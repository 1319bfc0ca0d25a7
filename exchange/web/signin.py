"""Signing in with a participant's client credentials, signing out, and the home screen."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from exchange.web.api_client import ApiProblemError
from exchange.web.pages import FormData, Web
from exchange.web.session import COOKIE, check_same_origin, safe_next


def signin_handlers(web: Web) -> list[Any]:
    @get("/sign-in")
    async def sign_in_form(
        request: Request[Any, Any, Any], next: str | None = None, expired: str | None = None
    ) -> Template:
        notice = "Your session ended; sign in again." if expired else None
        return web.render(request, "sign_in.html", None, next=safe_next(next), notice=notice)

    @post("/sign-in")
    async def sign_in(
        request: Request[Any, Any, Any],
        data: FormData,
    ) -> Response[Any]:
        check_same_origin(request)
        target = safe_next(data.get("next"))
        client_id, secret = data.get("client_id", "").strip(), data.get("client_secret", "").strip()
        grant = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        try:
            answer = (await web.api(request).call(None, "POST", "/oauth/token", data=grant)).json()
        except ApiProblemError as problem:
            error = "Unknown client or wrong secret." if problem.status == 401 else problem.detail or problem.title
            return web.render(
                request, "sign_in.html", None, next=target, error=error, client_id=client_id, status_code=problem.status
            )
        response: Response[Any] = Redirect(target, status_code=303)
        response.set_cookie(
            COOKIE,
            answer["access_token"],
            max_age=int(answer["expires_in"]),
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @post("/sign-out")
    async def sign_out(request: Request[Any, Any, Any]) -> Response[Any]:
        check_same_origin(request)
        await web.sessions.end(request)
        response: Response[Any] = Redirect("/app/sign-in", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @get("/")
    async def home(request: Request[Any, Any, Any]) -> Template:
        session = web.session(request)
        return web.render(request, "home.html", session, all_screens=web.screens)

    return [sign_in_form, sign_in, sign_out, home]
