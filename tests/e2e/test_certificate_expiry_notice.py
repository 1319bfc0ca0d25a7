"""A participant is told once, by a `certificateExpiry` notification, that its certificate enters its last days.

The module's exchange runs with `--test-clock` and `--certificate-warning-days 30`; housekeeping looks every 10 s.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from simulators.client import ParticipantClient
from tests.e2e.read_side import new_participant
from tests.harness import ServerProcess, running_server

pytestmark = pytest.mark.e2e
DAY = 86400
LIFETIME_DAYS = 1095
NOTICE_WITHIN = 30.0  # housekeeping every 10 s, plus recording and publishing


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("expiry-notice") / "data"
    with running_server(data, "--test-clock", "--rate-limit", "0", "--certificate-warning-days", "30") as running:
        yield running


async def advance(operator: ParticipantClient, days: float) -> None:
    response = await operator.http.post(
        "/admin/v1/clock", json={"advanceSeconds": days * DAY}, headers=operator.headers()
    )
    assert response.status_code == 200, response.text
    await operator.login()  # the operator's own token expired with the jump


async def expiry_frames(socket: ClientConnection, within: float) -> list[dict[str, Any]]:
    """The `certificateExpiry` frames that arrive within `within` seconds."""
    found = []
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = json.loads(await asyncio.wait_for(socket.recv(), left))
        except TimeoutError:
            break
        if frame["eventType"] == "certificateExpiry":
            found.append(frame)
    return found


async def test_a_certificate_entering_its_last_30_days_is_announced_once(
    server: ServerProcess, operator: ParticipantClient
) -> None:
    lnsp = await new_participant(server, operator, "LNSP", ["LNSP"], enrol=True)
    listed = await lnsp.http.get("/certs/v1/certificates", headers=lnsp.headers())
    [certificate] = listed.json()["data"]
    url = server.base_url.replace("http://", "ws://") + "/idx/v1/events"
    async with websockets.connect(url, additional_headers=lnsp.headers()) as socket:
        await asyncio.sleep(0.3)
        await advance(operator, LIFETIME_DAYS - 40)  # 40 days left: not yet
        assert await expiry_frames(socket, 12.0) == []

        await advance(operator, 11)  # 29 days left
        [frame] = await expiry_frames(socket, NOTICE_WITHIN)
        assert frame["certificateSerialNumber"] == certificate["serialNumber"]
        assert frame["notAfter"] == certificate["notAfter"]
        assert frame["daysLeft"] in (28, 29)  # whole days, rounded down

        await advance(operator, 5)
        assert await expiry_frames(socket, 12.0) == [], "the warning is given once"

    await lnsp.login()
    status = await lnsp.http.get("/certs/v1/status", headers=lnsp.headers())
    assert status.status_code == 200, status.text
    warnings = status.json()["data"]["warnings"]
    assert [(w["kind"], w["serialNumber"]) for w in warnings] == [("expiresSoon", certificate["serialNumber"])]
    await lnsp.close()
