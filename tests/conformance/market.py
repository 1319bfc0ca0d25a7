"""Participants and standing data made through the public API of a running exchange, closed after each test.

Shared by the conformance suite and the end-to-end tests of recall plans, bids and meter churn.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

from simulators.client import ParticipantClient, register
from tests.harness import ServerProcess

GENERATOR_SCOPES = ["GR_RECALL", "BID_ENERGY", "TRANSLOG_TRANSLOG"]


class Market:
    """Makes participants with fresh ids (tests sharing a server never meet) and registers their standing data."""

    def __init__(self, server: ServerProcess, operator: ParticipantClient) -> None:
        self.server = server
        self.operator = operator
        self._clients: list[ParticipantClient] = []

    async def participant(
        self, prefix: str, roles: list[str], scopes: list[str], *, enrol: bool = False
    ) -> ParticipantClient:
        participant_id = f"{prefix}{secrets.token_hex(3).upper()}"[:10]
        client = ParticipantClient(self.server.base_url, await register(self.operator, participant_id, roles, scopes))
        self._clients.append(client)
        await client.login()
        if enrol:
            await client.enrol()
        return client

    async def generator(self, scopes: list[str] = GENERATOR_SCOPES) -> ParticipantClient:
        return await self.participant("GEN", ["GENERATOR"], scopes)

    async def duid(self, owner: ParticipantClient, max_capacity_mw: float = 700.0) -> str:
        """A new DUID of `owner`, at a station of its own."""
        duid = f"D{secrets.token_hex(3).upper()}"
        body = {
            "duid": duid,
            "participantId": owner.participant_id,
            "stationId": f"ST{duid}",
            "maxCapacityMW": max_capacity_mw,
        }
        response = await self.operator.http.post("/admin/v1/duids", json=body, headers=self.operator.headers())
        assert response.status_code == 201, response.text
        return duid

    async def nmi_record(self, nmi: str, mc: str, mdp: str, lnsp: str, from_date: str) -> None:
        body = {"nmi": nmi, "mc": mc, "mdp": mdp, "lnsp": lnsp, "fromDate": from_date}
        response = await self.operator.http.post("/admin/v1/nmis", json=body, headers=self.operator.headers())
        assert response.status_code == 201, response.text

    async def close(self) -> None:
        for client in self._clients:
            await client.close()


async def queue_items(
    client: ParticipantClient, bf: str, resource: str, sender: str, expected: int, within: float = 20.0
) -> list[dict[str, Any]]:
    """Items from `sender` in the client's queue of `bf`/`resource`, once there are `expected` (or time is up)."""
    deadline = time.monotonic() + within
    while True:
        response = await client.list_queue(bf=bf, resource=resource, itemCount=500)
        assert response.status_code == 200, response.text
        items = [i for i in response.json()["data"] if i["initiatingParticipantId"] == sender]
        if len(items) >= expected or time.monotonic() > deadline:
            return items
        await asyncio.sleep(0.1)
