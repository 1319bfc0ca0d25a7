"""Helpers of the read-side end-to-end tests: participants holding every read-side entity, polling, problems."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from simulators.client import ParticipantClient, register
from tests.harness import ServerProcess

ALL_SCOPES = ["PQD_BPQD", "TLS_CERTIFICATE_MANAGEMENT", "TRANSLOG_TRANSLOG", "ARCH_RETRIEVE", "EVENT_NOTIFY"]
T = TypeVar("T")


async def new_participant(
    server: ServerProcess, operator: ParticipantClient, prefix: str, roles: list[str], *, enrol: bool = False
) -> ParticipantClient:
    """A fresh participant whose client holds the read-side entities too, logged in (and enrolled if asked)."""
    participant_id = f"{prefix}{secrets.token_hex(3).upper()}"[:10]
    client = ParticipantClient(server.base_url, await register(operator, participant_id, roles, ALL_SCOPES))
    await client.login()
    if enrol:
        await client.enrol()
    return client


async def eventually(check: Callable[[], Awaitable[T]], within: float = 10.0, every: float = 0.1) -> T:
    """The result of `check` once it stops failing its assertions, or its last failure when time is up."""
    deadline = time.monotonic() + within
    while True:
        try:
            return await check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(every)


async def close_code_of(url: str, headers: dict[str, str] | None = None) -> int | None:
    """The close code the server ends a connection with, right after accepting it."""
    async with websockets.connect(url, additional_headers=headers or {}) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 5.0)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code
