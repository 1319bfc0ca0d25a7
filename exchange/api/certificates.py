"""The certificate API (`TLS_CERTIFICATE_MANAGEMENT`)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Router, get, post, put
from litestar.params import Body

from exchange.api.auth import Gate
from exchange.certificates import Certificates, CertificateView

ENTITY = "TLS_CERTIFICATE_MANAGEMENT"


class CsrBody(msgspec.Struct):
    csr: str


class NominationBody(msgspec.Struct):
    primary: str
    secondary: str | None = None


class CertificateItem(msgspec.Struct, rename="camel"):
    serial_number: str
    certificate: str
    chain: str
    not_before: str
    not_after: str
    status: str
    nomination: str | None


def _item(view: CertificateView) -> CertificateItem:
    return CertificateItem(
        view.serial_number,
        view.certificate,
        view.chain,
        view.not_before,
        view.not_after,
        view.status,
        view.nomination,
    )


def certificates_router(certificates: Certificates, gate: Gate) -> Router:
    @post("/certificates", status_code=201, summary="Issue a certificate from a CSR")
    async def issue(request: Request[Any, Any, Any], data: Annotated[CsrBody, Body()]) -> dict[str, CertificateItem]:
        principal = gate.principal(request, ENTITY)
        return {"data": _item(await certificates.issue(principal.participant_id, data.csr))}

    @get("/certificates", summary="Your certificates, with status and nomination")
    async def list_certificates(request: Request[Any, Any, Any]) -> dict[str, list[CertificateItem]]:
        principal = gate.principal(request, ENTITY)
        return {"data": [_item(v) for v in await certificates.list(principal.participant_id)]}

    @get("/certificates/{serialNumber:str}", summary="One of your certificates")
    async def get_certificate(request: Request[Any, Any, Any], serialNumber: str) -> dict[str, CertificateItem]:  # noqa: N803
        principal = gate.principal(request, ENTITY)
        return {"data": _item(await certificates.get(principal.participant_id, serialNumber))}

    @put("/nominations", summary="Nominate your primary and secondary signing certificates")
    async def nominate(
        request: Request[Any, Any, Any], data: Annotated[NominationBody, Body()]
    ) -> dict[str, dict[str, str | None]]:
        principal = gate.principal(request, ENTITY)
        return {"data": await certificates.nominate(principal.participant_id, data.primary, data.secondary)}

    @get("/nominations", summary="Your nominated certificates")
    async def nominations(request: Request[Any, Any, Any]) -> dict[str, dict[str, str | None]]:
        principal = gate.principal(request, ENTITY)
        return {"data": await certificates.nominations(principal.participant_id)}

    @get("/hub", summary="The exchange CA and hub certificates (no token needed)")
    async def hub() -> dict[str, dict[str, str]]:
        return {"data": certificates.hub()}

    return Router(
        path="/certs/v1",
        route_handlers=[issue, list_certificates, get_certificate, nominate, nominations, hub],
        tags=["certificates"],
    )
