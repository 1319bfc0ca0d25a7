"""The administration API (`IDX_ADMIN`): participants and their clients."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Router, delete, get, patch, post, put
from litestar.params import Body, QueryParameter

from exchange.domain.participants import Participant
from exchange.functions.protocol import GeneratingUnitInfo
from exchange.http.auth import requires_token
from exchange.http.responses import PageMeta, page_meta
from exchange.kernel.clock import iso
from exchange.services.participants import Administration, ListedParticipant
from exchange.services.standing_data import StandingDataAdmin


class NewParticipant(msgspec.Struct, rename="camel"):
    participant_id: str
    name: str
    roles: list[str]


class NewClient(msgspec.Struct, rename="camel"):
    scopes: list[str]


class ParticipantView(msgspec.Struct, rename="camel"):
    participant_id: str
    name: str
    roles: list[str]


class ParticipantPage(msgspec.Struct):
    data: list[ParticipantView]
    meta: PageMeta


class ClientView(msgspec.Struct, rename="camel"):
    client_id: str
    client_secret: str
    scopes: list[str]


class ClientListingView(msgspec.Struct, rename="camel"):
    client_id: str
    scopes: list[str]
    created_date_time: str
    status: str


class StatusChange(msgspec.Struct):
    status: str
    reason: str = ""


class ParticipantStatusView(msgspec.Struct, rename="camel"):
    participant_id: str
    name: str
    roles: list[str]
    status: str
    reason: str | None


class NewUnit(msgspec.Struct, rename="camel"):
    duid: str
    participant_id: str
    station_id: str
    max_capacity_mw: float = msgspec.field(name="maxCapacityMW")


class Transfer(msgspec.Struct, rename="camel"):
    participant_id: str
    from_date: str


class UnitView(msgspec.Struct, rename="camel"):
    duid: str
    # The owner it was registered to; `transfers` says who owns it from which date.
    participant_id: str
    station_id: str
    max_capacity_mw: float = msgspec.field(name="maxCapacityMW")
    transfers: list[Transfer] = msgspec.field(default_factory=list)


class NewResponsibility(msgspec.Struct, rename="camel"):
    nmi: str
    mc: str
    mdp: str
    lnsp: str
    from_date: str


class OutageNotice(msgspec.Struct):
    detail: str


def _view(participant: Participant | ListedParticipant) -> ParticipantView:
    return ParticipantView(participant.participant_id, participant.name, participant.roles)


def _unit_view(unit: GeneratingUnitInfo) -> UnitView:
    transfers = [Transfer(owner, day.isoformat()) for day, owner in unit.transfers]
    return UnitView(unit.duid, unit.participant_id, unit.station_id, unit.max_capacity_mw, transfers)


def _status_view(participant: Participant) -> ParticipantStatusView:
    status = "Suspended" if participant.suspended else "Active"
    return ParticipantStatusView(
        participant.participant_id, participant.name, participant.roles, status, participant.suspension_reason
    )


def admin_router(admin: Administration, standing: StandingDataAdmin) -> Router:
    @post("/participants", status_code=201, summary="Register a participant")
    async def register(data: Annotated[NewParticipant, Body()]) -> dict[str, ParticipantView]:
        participant = await admin.register_participant(data.participant_id, data.name, data.roles)
        return {"data": _view(participant)}

    @get("/participants", summary="List participants, in the order they were registered")
    async def participants(
        item_count: Annotated[int, QueryParameter(name="itemCount", ge=1, le=500)] = 100,
        cursor: str | None = None,
    ) -> ParticipantPage:
        page = await admin.participant_page(item_count, cursor)
        return ParticipantPage([_view(p) for p in page.items], page_meta(page, item_count))

    @get("/participants/{participantId:str}", summary="A participant with its roles and status")
    async def participant(participantId: str) -> dict[str, ParticipantStatusView]:  # noqa: N803
        return {"data": _status_view(await admin.participant(participantId))}

    @post("/participants/{participantId:str}/clients", status_code=201, summary="Create client credentials")
    async def add_client(
        participantId: str,  # noqa: N803
        data: Annotated[NewClient, Body()],
    ) -> dict[str, ClientView]:
        issued = await admin.add_client(participantId, data.scopes)
        return {"data": ClientView(issued.client_id, issued.client_secret, issued.scopes)}

    @get("/participants/{participantId:str}/clients", summary="List a participant's clients (never their secrets)")
    async def clients(participantId: str) -> dict[str, list[ClientListingView]]:  # noqa: N803
        listed = await admin.clients(participantId)
        return {"data": [ClientListingView(c.client_id, c.scopes, iso(c.created_at), c.status) for c in listed]}

    @post(
        "/participants/{participantId:str}/clients/{clientId:str}/rotate",
        status_code=200,
        summary="Give a client a new secret; the old one stops working at once",
    )
    async def rotate(participantId: str, clientId: str) -> dict[str, ClientView]:  # noqa: N803
        issued = await admin.rotate_secret(participantId, clientId)
        return {"data": ClientView(issued.client_id, issued.client_secret, issued.scopes)}

    @delete(
        "/participants/{participantId:str}/clients/{clientId:str}",
        status_code=204,
        summary="Revoke a client: no new token, and its live tokens are refused from now on",
    )
    async def revoke(participantId: str, clientId: str) -> None:  # noqa: N803
        await admin.revoke_client(participantId, clientId)

    @patch("/participants/{participantId:str}", summary="Suspend a participant, or make it active again")
    async def set_status(
        participantId: str,  # noqa: N803
        data: Annotated[StatusChange, Body()],
    ) -> dict[str, ParticipantStatusView]:
        participant = await admin.set_status(participantId, data.status, data.reason)
        return {"data": _status_view(participant)}

    @post("/duids", status_code=201, summary="Register a DUID (standing data for recall plans and bids)")
    async def register_unit(data: Annotated[NewUnit, Body()]) -> dict[str, NewUnit]:
        await standing.register_unit(data.duid, data.participant_id, data.station_id, data.max_capacity_mw)
        return {"data": data}

    @get("/duids", summary="List the DUIDs with their owners")
    async def units() -> dict[str, list[UnitView]]:
        return {"data": [_unit_view(unit) for unit in await standing.units()]}

    @get("/duids/{duid:str}", summary="A DUID with its owners")
    async def unit(duid: str) -> dict[str, UnitView]:
        return {"data": _unit_view(await standing.unit(duid))}

    @put(
        "/duids/{duid:str}",
        summary="Transfer a DUID to another generator from a date (recall plans and bids follow the owner on the day)",
    )
    async def transfer_unit(duid: str, data: Annotated[Transfer, Body()]) -> dict[str, UnitView]:
        return {"data": _unit_view(await standing.transfer_unit(duid, data.participant_id, data.from_date))}

    @get("/nmis/{nmi:str}", summary="Who answered and answers for an NMI, from which dates (meter churn history)")
    async def nmi(nmi: str) -> dict[str, Any]:
        point = await standing.metering_point(nmi)
        return {"data": {"nmi": point.nmi, "periods": point.periods}}

    @post("/nmis", status_code=201, summary="Record who answers for an NMI from a date (meter churn adds one)")
    async def record_nmi(data: Annotated[NewResponsibility, Body()]) -> dict[str, Any]:
        point = await standing.record_responsibility(data.nmi, data.mc, data.mdp, data.lnsp, data.from_date)
        return {"data": {"nmi": point.nmi, "periods": point.periods}}

    @post("/outages", status_code=201, summary="Announce an outage: every participant gets an `outage` notification")
    async def announce(data: Annotated[OutageNotice, Body()]) -> dict[str, Any]:
        outage = await admin.announce_outage(data.detail)
        return {"data": {"detail": outage.detail, "announcedDateTime": iso(outage.announced_at)}}

    return Router(
        path="/admin/v1",
        route_handlers=[
            register,
            participants,
            participant,
            add_client,
            clients,
            rotate,
            revoke,
            set_status,
            register_unit,
            units,
            unit,
            transfer_unit,
            nmi,
            record_nmi,
            announce,
        ],
        tags=["administration"],
        opt=requires_token("IDX_ADMIN"),
    )
