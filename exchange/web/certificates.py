"""The certificates screen: issue from a CSR, download with the chain, nominate, renew, reissue and revoke."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template

from exchange.domain.markettime import MARKET_TIME
from exchange.kernel.clock import Clock
from exchange.web.api_client import ApiProblemError
from exchange.web.pages import Screen, Web, page_links, page_query, with_query
from exchange.web.session import Session

ENTITY = "TLS_CERTIFICATE_MANAGEMENT"
# The API's own rule (renewal opens 90 days before notAfter); the screen only says when the button will work.
RENEWAL_WINDOW = timedelta(days=90)
MAX_CSR = 64 * 1024  # a CSR is a few kilobytes; anything larger is not one
PAGE_SIZE = 50
SCREEN = Screen("certificates", "Certificates", "/app/certificates", ENTITY)


def certificates_handlers(web: Web, clock: Clock) -> list[Any]:
    async def list_page(
        request: Request[Any, Any, Any], session: Session, *, status_code: int = 200, **context: Any
    ) -> Template:
        api = web.api(request)
        cursor = request.query_params.get("cursor")
        answer = (await api.call(session, "GET", "/certs/v1/certificates", params=page_query(cursor, PAGE_SIZE))).json()
        status = await api.data(session, "GET", "/certs/v1/status")
        nominations = await api.data(session, "GET", "/certs/v1/nominations")
        return web.render(
            request,
            "certificates.html",
            session,
            screen="certificates",
            certificates=answer["data"],
            meta=answer["meta"],
            warnings=status["warnings"],
            warning_days=status["expiryWarningDays"],
            nominations=nominations,
            **page_links("/app/certificates", {}, cursor, answer["meta"]["nextCursor"]),
            status_code=status_code,
            **context,
        )

    async def certificate_page(
        request: Request[Any, Any, Any],
        session: Session,
        serial: str,
        template: str = "certificate.html",
        *,
        status_code: int = 200,
        **context: Any,
    ) -> Template:
        """A page about one certificate as the API answers it now: its details, or the confirmation of a revocation."""
        certificate = await web.api(request).data(session, "GET", f"/certs/v1/certificates/{serial}")
        return web.render(
            request,
            template,
            session,
            screen="certificates",
            certificate=certificate,
            renewal=_renewal(certificate, clock.now()),
            status_code=status_code,
            **context,
        )

    @get("/certificates")
    async def listing(request: Request[Any, Any, Any]) -> Template:
        return await list_page(request, web.session(request, ENTITY))

    @post("/certificates")
    async def issue(request: Request[Any, Any, Any]) -> Response[Any] | Template:
        session = web.session(request, ENTITY)
        csr = await _csr_of(request)
        try:
            issued = await web.api(request).data(session, "POST", "/certs/v1/certificates", json={"csr": csr})
        except ApiProblemError as problem:
            if problem.status not in (400, 409, 422):
                raise
            return await list_page(request, session, status_code=problem.status, problem=problem, csr=csr)
        serial = issued["serialNumber"]
        return Redirect(
            with_query(f"/app/certificates/{serial}", {"done": f"Certificate {serial} issued."}), status_code=303
        )

    @post("/certificates/nominations")
    async def nominate(request: Request[Any, Any, Any]) -> Response[Any] | Template:
        session = web.session(request, ENTITY)
        form = await request.form()
        primary = str(form.get("primary") or "")
        secondary = str(form.get("secondary") or "") or None
        try:
            await web.api(request).call(
                session, "PUT", "/certs/v1/nominations", json={"primary": primary, "secondary": secondary}
            )
        except ApiProblemError as problem:
            if problem.status not in (400, 422):
                raise
            return await list_page(request, session, status_code=problem.status, nomination_problem=problem)
        done = f"Primary {primary}" + (f", secondary {secondary}." if secondary else ", no secondary.")
        return Redirect(with_query("/app/certificates", {"done": done}), status_code=303)

    @get("/certificates/{serial:str}")
    async def detail(request: Request[Any, Any, Any], serial: str) -> Template:
        return await certificate_page(request, web.session(request, ENTITY), serial)

    @get(["/certificates/{serial:str}/certificate.pem", "/certificates/{serial:str}/chain.pem"])
    async def pem(request: Request[Any, Any, Any], serial: str) -> Response[Any]:
        """The certificate alone, or its chain (leaf first, then the exchange CA), as a PEM file."""
        session = web.session(request, ENTITY)
        part = "chain" if request.url.path.endswith("/chain.pem") else "certificate"
        certificate = await web.api(request).data(session, "GET", f"/certs/v1/certificates/{serial}")
        name = re.sub(r"[^A-Za-z0-9]", "", serial)
        return Response(
            certificate[part].encode(),
            media_type="application/x-pem-file",
            headers={
                "Content-Disposition": f'attachment; filename="{name}-{part}.pem"',
                "Cache-Control": "no-store",
            },
        )

    @post("/certificates/{serial:str}/{action:str}")
    async def successor(request: Request[Any, Any, Any], serial: str, action: str) -> Response[Any] | Template:
        """Renew or reissue from a new CSR; the new certificate's page opens."""
        session = web.session(request, ENTITY)
        if action not in ("renew", "reissue"):
            raise ApiProblemError(404, "Not found", f"a certificate can be renewed, reissued or revoked, not {action}")
        csr = await _csr_of(request, f"{action}_csr")
        try:
            made = await web.api(request).data(
                session, "POST", f"/certs/v1/certificates/{serial}/{action}", json={"csr": csr}
            )
        except ApiProblemError as problem:
            if problem.status not in (400, 409, 422):
                raise
            return await certificate_page(
                request, session, serial, status_code=problem.status, problem=problem, failed=action, csr=csr
            )
        done = (
            f"Certificate {made['serialNumber']} issued, {'renewing' if action == 'renew' else 'reissuing'} {serial}."
        )
        return Redirect(with_query(f"/app/certificates/{made['serialNumber']}", {"done": done}), status_code=303)

    @post("/certificates/{serial:str}/revoke")
    async def revoke(request: Request[Any, Any, Any], serial: str) -> Response[Any] | Template:
        """First the confirmation, naming the reason; then, confirmed, the revocation."""
        session = web.session(request, ENTITY)
        form = await request.form()
        reason = str(form.get("reason") or "").strip()
        if form.get("confirmed") != "yes":
            return await certificate_page(request, session, serial, "certificate_revoke.html", reason=reason)
        try:
            await web.api(request).call(
                session, "POST", f"/certs/v1/certificates/{serial}/revoke", json={"reason": reason}
            )
        except ApiProblemError as problem:
            if problem.status not in (400, 409, 422):
                raise
            return await certificate_page(
                request, session, serial, status_code=problem.status, problem=problem, failed="revoke", reason=reason
            )
        return Redirect(
            with_query(f"/app/certificates/{serial}", {"done": f"Certificate {serial} revoked."}), status_code=303
        )

    return [listing, issue, nominate, detail, pem, revoke, successor]


async def _csr_of(request: Request[Any, Any, Any], prefix: str = "csr") -> str:
    """The CSR pasted into the text area, or else the one uploaded as a file."""
    form = await request.form()
    pasted = str(form.get(prefix) or "").strip()
    if pasted:
        return pasted
    upload = form.get(f"{prefix}_file")
    if isinstance(upload, UploadFile):
        content = await upload.read(MAX_CSR + 1)
        if len(content) > MAX_CSR:
            raise ApiProblemError(
                413, "Too large", f"a CSR is a few kilobytes; this file is over {MAX_CSR // 1024} KiB"
            )
        return content.decode("utf-8", errors="replace").strip()
    return ""


def _renewal(certificate: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Whether the Renew button works now, and if not, the sentence that says why."""
    if certificate["status"] != "active":
        return {
            "open": False,
            "why": f"Only an active certificate can be renewed; this one is {certificate['status']}.",
        }
    not_after = datetime.fromisoformat(certificate["notAfter"]).astimezone(MARKET_TIME)
    opens = not_after - RENEWAL_WINDOW
    if now < opens:
        return {
            "open": False,
            "why": f"Renewal opens 90 days before expiry, on {opens.date().isoformat()}. "
            "To change the key before then, reissue.",
        }
    return {"open": True, "why": f"Within 90 days of expiry ({not_after.date().isoformat()}): renewal is open."}
