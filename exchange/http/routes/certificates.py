"""The certificate API (`TLS_CERTIFICATE_MANAGEMENT`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated

import msgspec
from litestar import Response, Router, get, post, put
from litestar.handlers import HTTPRouteHandler
from litestar.params import Body

from exchange.http.auth import requires_token
from exchange.http.queries import ItemCount
from exchange.http.responses import PageMeta, camel_shape, page_meta
from exchange.services.access import Principal
from exchange.services.certificates import Certificates, CertificateView, CertificateWarning

ENTITY = "TLS_CERTIFICATE_MANAGEMENT"


class CsrBody(msgspec.Struct):
    csr: str


class RevokeBody(msgspec.Struct):
    reason: str


class NominationBody(msgspec.Struct):
    primary: str
    secondary: str | None = None


if TYPE_CHECKING:
    CertificateItem = CertificateView
    WarningItem = CertificateWarning
else:
    CertificateItem = camel_shape(CertificateView, "CertificateItem")
    WarningItem = camel_shape(CertificateWarning, "WarningItem")


class CertificatePage(msgspec.Struct):
    data: list[CertificateItem]
    meta: PageMeta


class CertificateStatus(msgspec.Struct, rename="camel"):
    warnings: list[WarningItem]
    expiry_warning_days: int


class HubCertificates(msgspec.Struct, rename="camel"):
    ca_certificate: str
    hub_certificate: str
    previous_hub_certificates: list[str]


def _item(view: CertificateView) -> CertificateItem:
    return msgspec.convert(view, CertificateItem, from_attributes=True)


def _warning(warning: CertificateWarning) -> WarningItem:
    return msgspec.convert(warning, WarningItem, from_attributes=True)


def certificates_router(certificates: Certificates) -> Router:
    @post("/certificates", status_code=201, summary="Issue a certificate from a CSR")
    async def issue(principal: Principal, data: Annotated[CsrBody, Body()]) -> dict[str, CertificateItem]:
        return {"data": _item(await certificates.issue(principal.participant_id, data.csr))}

    @get("/certificates", summary="Your certificates, with status and nomination")
    async def list_certificates(
        principal: Principal,
        item_count: ItemCount = 100,
        cursor: str | None = None,
    ) -> CertificatePage:
        page = await certificates.listing(principal.participant_id, item_count, cursor)
        return CertificatePage(
            data=[_item(v) for v in page.items],
            meta=page_meta(page, item_count),
        )

    @get("/certificates/{serialNumber:str}", summary="One of your certificates (404 for anyone else's)")
    async def get_certificate(principal: Principal, serialNumber: str) -> dict[str, CertificateItem]:  # noqa: N803
        return {"data": _item(await certificates.get(principal.participant_id, serialNumber))}

    def successor(
        action: str, summary: str, make: Callable[[str, str, str], Awaitable[CertificateView]]
    ) -> HTTPRouteHandler:
        """`POST /certificates/{serialNumber}/<action>`: a new certificate from a CSR, succeeding the one named."""

        async def handler(
            principal: Principal,
            serialNumber: str,  # noqa: N803
            data: Annotated[CsrBody, Body()],
        ) -> dict[str, CertificateItem]:
            return {"data": _item(await make(principal.participant_id, serialNumber, data.csr))}

        handler.__name__ = action  # the handler's name in logs and in Litestar's registry
        return post(f"/certificates/{{serialNumber:str}}/{action}", status_code=201, summary=summary)(handler)

    renew = successor("renew", "Renew a certificate within 90 days of its expiry (409 earlier)", certificates.renew)
    reissue = successor(
        "reissue", "Reissue a certificate for its remaining term, normally with a new key", certificates.reissue
    )

    @post("/certificates/{serialNumber:str}/revoke", status_code=200, summary="Revoke a certificate, with a reason")
    async def revoke(
        principal: Principal,
        serialNumber: str,  # noqa: N803
        data: Annotated[RevokeBody, Body()],
    ) -> dict[str, CertificateItem]:
        return {"data": _item(await certificates.revoke(principal.participant_id, serialNumber, data.reason))}

    @get("/status", summary="Warnings about your certificates: expiring soon, or nominated but unable to sign")
    async def status(principal: Principal) -> dict[str, CertificateStatus]:
        warnings = await certificates.status(principal.participant_id)
        return {"data": CertificateStatus([_warning(w) for w in warnings], certificates.expiry_warning_days)}

    @put("/nominations", summary="Nominate your primary and secondary signing certificates")
    async def nominate(
        principal: Principal, data: Annotated[NominationBody, Body()]
    ) -> dict[str, dict[str, str | None]]:
        return {"data": await certificates.nominate(principal.participant_id, data.primary, data.secondary)}

    @get("/nominations", summary="Your nominated certificates")
    async def nominations(principal: Principal) -> dict[str, dict[str, str | None]]:
        return {"data": await certificates.nominations(principal.participant_id)}

    @get("/hub", summary="The exchange CA and hub certificates, and hub certificates retired by rollover (no token)")
    async def hub() -> dict[str, HubCertificates]:
        published = certificates.hub()
        return {
            "data": HubCertificates(
                published.ca_certificate, published.hub_certificate, published.previous_hub_certificates
            )
        }

    @get(
        "/crl",
        summary="The exchange CA's current certificate revocation list, DER (no token)",
        media_type="application/pkix-crl",
    )
    async def crl() -> Response[bytes]:
        return Response(await certificates.revocation_list(), media_type="application/pkix-crl")

    needs_token = Router(
        path="/",
        route_handlers=[
            issue,
            list_certificates,
            get_certificate,
            renew,
            reissue,
            revoke,
            status,
            nominate,
            nominations,
        ],
        opt=requires_token(ENTITY),
    )
    return Router(path="/certs/v1", route_handlers=[needs_token, hub, crl], tags=["certificates"])
