"""The administration API (`IDX_ADMIN`): participants and their clients."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Router, get, post
from litestar.params import Body

from exchange.admin import Administration
from exchange.api.auth import Gate
from exchange.domain.participants import Participant


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


class ClientView(msgspec.Struct, rename="camel"):
    client_id: str
    client_secret: str
    scopes: list[str]


def _view(participant: Participant) -> ParticipantView:
    return ParticipantView(participant.participant_id, participant.name, participant.roles)


def admin_router(admin: Administration, gate: Gate) -> Router:
    @post("/participants", status_code=201, summary="Register a participant")
    async def register(
        request: Request[Any, Any, Any], data: Annotated[NewParticipant, Body()]
    ) -> dict[str, ParticipantView]:
        await gate.principal(request, "IDX_ADMIN")
        participant = await admin.register_participant(data.participant_id, data.name, data.roles)
        return {"data": _view(participant)}

    @get("/participants", summary="List participants")
    async def participants(request: Request[Any, Any, Any]) -> dict[str, list[ParticipantView]]:
        await gate.principal(request, "IDX_ADMIN")
        return {"data": [_view(p) for p in await admin.participants()]}

    @post("/participants/{participantId:str}/clients", status_code=201, summary="Create client credentials")
    async def add_client(
        request: Request[Any, Any, Any],
        participantId: str,  # noqa: N803
        data: Annotated[NewClient, Body()],
    ) -> dict[str, ClientView]:
        await gate.principal(request, "IDX_ADMIN")
        issued = await admin.add_client(participantId, data.scopes)
        return {"data": ClientView(issued.client_id, issued.client_secret, issued.scopes)}

    return Router(path="/admin/v1", route_handlers=[register, participants, add_client], tags=["administration"])
