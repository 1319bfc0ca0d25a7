"""Outage notifications: the operator announces, every participant's event stream carries it."""

from __future__ import annotations

import asyncio
import json

import websockets

from simulators.client import ParticipantClient
from tests.e2e.read_side import new_participant
from tests.harness import ServerProcess
from tests.problems import assert_problem


async def test_an_announced_outage_reaches_every_participant_in_sequence(
    server: ServerProcess, operator: ParticipantClient
) -> None:
    """POST /admin/v1/outages → each participant's WebSocket gets an `outage` frame with the detail, numbered."""
    lnsp = await new_participant(server, operator, "OUTL", ["LNSP"])
    mc = await new_participant(server, operator, "OUTM", ["MC"])
    url = server.base_url.replace("http", "ws") + "/idx/v1/events?ready=true"
    try:
        async with (
            websockets.connect(url, additional_headers={"Authorization": f"Bearer {lnsp.token}"}) as lnsp_socket,
            websockets.connect(url, additional_headers={"Authorization": f"Bearer {mc.token}"}) as mc_socket,
        ):
            for socket in (lnsp_socket, mc_socket):  # both subscribed before the announcement
                assert json.loads(await asyncio.wait_for(socket.recv(), timeout=10)) == {"eventType": "subscribed"}
            answer = await operator.http.post(
                "/admin/v1/outages", json={"detail": "Maintenance 02:00-03:00 AEST"}, headers=operator.headers()
            )
            assert answer.status_code == 201, answer.text
            for socket in (lnsp_socket, mc_socket):
                frame = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
                assert frame["eventType"] == "outage"
                assert frame["detail"] == "Maintenance 02:00-03:00 AEST"
                assert frame["sequence"] == 1
                assert frame["timestamp"].endswith("+10:00")
    finally:
        await lnsp.close()
        await mc.close()


async def test_only_the_operator_announces_and_the_detail_must_say_something(
    server: ServerProcess, operator: ParticipantClient
) -> None:
    """A participant without IDX_ADMIN gets 403; a blank detail is a 422 naming `detail`."""
    lnsp = await new_participant(server, operator, "OUTX", ["LNSP"])
    try:
        refused = await lnsp.http.post("/admin/v1/outages", json={"detail": "x"}, headers=lnsp.headers())
        assert_problem(refused, 403)
        blank = await operator.http.post("/admin/v1/outages", json={"detail": "  "}, headers=operator.headers())
        assert_problem(blank, 422)
        assert blank.json()["errors"][0]["field"] == "detail"
    finally:
        await lnsp.close()
