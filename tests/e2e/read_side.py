"""Helpers of the read-side end-to-end tests: participants holding every read-side entity, polling, problems."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

import simulators.participants
from simulators.client import Credentials, ParticipantClient, operator_client, register
from tests.harness import ServerProcess

ALL_SCOPES = ["PQD_BPQD", "TLS_CERTIFICATE_MANAGEMENT", "TRANSLOG_TRANSLOG", "ARCH_RETRIEVE", "EVENT_NOTIFY"]
T = TypeVar("T")
Join = Callable[..., Awaitable[ParticipantClient]]
"""Makes a fresh participant: `await join(prefix, roles, enrol=True)` (the `join` fixture of conftest)."""


async def new_participant(
    server: ServerProcess,
    operator: ParticipantClient,
    prefix: str,
    roles: list[str],
    *,
    enrol: bool = False,
    scopes: list[str] = ALL_SCOPES,
) -> ParticipantClient:
    """A fresh participant holding `scopes` (by default the read-side entities too), logged in, enrolled if asked."""
    participant_id = f"{prefix}{secrets.token_hex(3).upper()}"[:10]
    client = ParticipantClient(server.base_url, await register(operator, participant_id, roles, scopes))
    await client.login()
    if enrol:
        await client.enrol()
    return client


async def small_market(
    server: ServerProcess, made: list[ParticipantClient], prefix: str, lnsps: str
) -> tuple[ParticipantClient, ParticipantClient, list[ParticipantClient]]:
    """The operator, an enrolled MC and one LNSP per letter of `lnsps`, ids starting with `prefix`; all in `made`."""
    operator = await operator_client(server.base_url, server.operator_secret)
    made.append(operator)
    mc = await new_participant(server, operator, f"{prefix}MC", ["MC"], enrol=True)
    receivers = [await new_participant(server, operator, f"{prefix}{x}", ["LNSP"]) for x in lnsps]
    made += [mc, *receivers]
    return operator, mc, receivers


async def eventually(check: Callable[[], Awaitable[T]], within: float = 10.0, every: float = 0.1) -> T:
    """The result of `check` once it stops failing its assertions, or its last failure when time is up."""
    return await simulators.participants.eventually(check, within, every)


async def close_code_of(url: str, headers: dict[str, str] | None = None) -> int | None:
    """The close code the server ends a connection with, right after accepting it."""
    async with websockets.connect(url, additional_headers=headers or {}) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 5.0)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def read_page(client: ParticipantClient, path: str, **params: Any) -> dict[str, Any]:
    """One page of a read-side listing (`path`), which must answer 200."""
    response = await client.http.get(path, params=params, headers=client.headers())
    assert response.status_code == 200, response.text
    return dict(response.json())


async def read_pages(
    client: ParticipantClient, path: str, item_count: int, *, most: int | None = None, **params: Any
) -> list[dict[str, Any]]:
    """The pages of a read-side listing matching `params`, `item_count` items a page, following the cursor to its
    end; with `most`, a listing with more pages fails, as one whose cursor never ends would."""
    pages: list[dict[str, Any]] = []
    cursor = None
    while True:
        pages.append(
            await read_page(client, path, **params, itemCount=item_count, **({"cursor": cursor} if cursor else {}))
        )
        cursor = pages[-1]["meta"]["nextCursor"]
        if cursor is None:
            return pages
        assert most is None or len(pages) < most, "the cursor never ends"


async def read_all(client: ParticipantClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a read-side listing matching `params`, following the cursor."""
    return [item for page in await read_pages(client, path, 500, **params) for item in page["data"]]


def ms_later(timestamp: str) -> str:
    """The timestamp a millisecond later, as the API writes them."""
    return (datetime.fromisoformat(timestamp) + timedelta(milliseconds=1)).isoformat(timespec="milliseconds")


@dataclass
class Cast:
    """Who a read-side flow made: an MC, LNSPs A and B it sends to, and C, an LNSP that takes part in nothing."""

    base_url: str
    operator_secret: str
    mc: Credentials
    a: Credentials
    b: Credentials
    c: Credentials
    ids: dict[str, str]  # name → message context id
    bodies: dict[str, bytes]


async def new_cast(
    server: ServerProcess, prefix: str
) -> tuple[ParticipantClient, ParticipantClient, ParticipantClient, ParticipantClient, ParticipantClient]:
    """The operator, an enrolled MC and three LNSPs, with ids starting with `prefix`."""
    operator = await operator_client(server.base_url, server.operator_secret)
    mc = await new_participant(server, operator, f"{prefix}MC", ["MC"], enrol=True)
    a, b, c = [await new_participant(server, operator, f"{prefix}{x}", ["LNSP"]) for x in "ABC"]
    return operator, mc, a, b, c


def cast_fields(
    server: ServerProcess, mc: ParticipantClient, a: ParticipantClient, b: ParticipantClient, c: ParticipantClient
) -> tuple[str, str, Credentials, Credentials, Credentials, Credentials]:
    """The leading fields of a Cast: where the server is, and the credentials of the MC, A, B and C."""
    return server.base_url, server.operator_secret, mc.credentials, a.credentials, b.credentials, c.credentials


async def close_all(*clients: ParticipantClient) -> None:
    for client in clients:
        await client.close()


@dataclass
class People:
    """Logged-in clients of a cast's operator, MC, A, B and C."""

    operator: ParticipantClient
    mc: ParticipantClient
    a: ParticipantClient
    b: ParticipantClient
    c: ParticipantClient


@asynccontextmanager
async def logged_in(cast: Cast) -> AsyncIterator[People]:
    """The cast logged in again (each test gets its own clients), logged out at the end."""
    operator = await operator_client(cast.base_url, cast.operator_secret)
    others = [ParticipantClient(cast.base_url, credentials) for credentials in (cast.mc, cast.a, cast.b, cast.c)]
    for client in others:
        await client.login()
    try:
        yield People(operator, *others)
    finally:
        for client in (operator, *others):
            await client.close()
