"""Waiting for fire-and-forget delivery: a message reaches a queue shortly after its 200."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from simulators.client import ParticipantClient


async def queued_ids(client: ParticipantClient, **params: Any) -> list[str]:
    """Every messageContextId in the client's BPQD queue, following the cursor through all pages."""
    ids: list[str] = []
    cursor = None
    while True:
        query = {"itemCount": 500, **params}
        if cursor:
            query["cursor"] = cursor
        response = await client.list_queue(**query)
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [item["messageContextId"] for item in page["data"]]
        cursor = page["meta"]["nextCursor"]
        if cursor is None:
            return ids


async def wait_for_queue(client: ParticipantClient, expected: int, within: float = 20.0) -> list[str]:
    """The queue's ids once it holds `expected` messages (or what it holds when the time is up)."""
    deadline = time.monotonic() + within
    while True:
        ids = await queued_ids(client)
        if len(ids) >= expected or time.monotonic() > deadline:
            return ids
        await asyncio.sleep(0.1)
