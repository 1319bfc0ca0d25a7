"""A participant is told once, by a `certificateExpiry` notification, that its certificate enters its last days.

The module's exchange runs with `--test-clock` and `--certificate-warning-days 30`; housekeeping looks every 10 s.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from exchange.functions.bpqd.sample import sample_body
from simulators.client import ParticipantClient, operator_client
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


@pytest.fixture
async def operator(server: ServerProcess) -> AsyncIterator[ParticipantClient]:
    client = await operator_client(server.base_url, server.operator_secret)
    yield client
    await client.close()


async def advance(operator: ParticipantClient, days: float) -> None:
    response = await operator.http.post(
        "/admin/v1/clock", json={"advanceSeconds": days * DAY}, headers=operator.headers()
    )
    assert response.status_code == 200, response.text
    await operator.login()  # the operator's own token expired with the jump


def events_url(server: ServerProcess) -> str:
    return server.base_url.replace("http://", "ws://") + "/idx/v1/events?ready=true"


async def next_frame(socket: ClientConnection) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(socket.recv(), NOTICE_WITHIN)))


async def frames_until(socket: ClientConnection, done: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """The frames that arrive up to and including the first one `done` accepts."""
    found = [await next_frame(socket)]
    while not done(found[-1]):
        found.append(await next_frame(socket))
    return found


def expiry_of(serial: str) -> Callable[[dict[str, Any]], bool]:
    return lambda frame: frame["eventType"] == "certificateExpiry" and frame["certificateSerialNumber"] == serial


async def expiry_frames_before_a_marker(
    socket: ClientConnection, mc: ParticipantClient, lnsp: ParticipantClient
) -> list[dict[str, Any]]:
    """The `certificateExpiry` frames `lnsp` gets before a marker message sent now: every frame of an event
    recorded before the marker comes before the marker's own frame."""
    await mc.login()
    sent = await mc.submit(sample_body(mc.participant_id, [lnsp.participant_id]))
    assert sent.status_code == 200, sent.text
    marker = sent.json()["data"]["messageContextId"]
    frames = await frames_until(socket, lambda frame: frame.get("messageContextId") == marker)
    return [frame for frame in frames if frame["eventType"] == "certificateExpiry"]


def serial_of(client: ParticipantClient) -> str:
    assert client.certificate is not None
    return format(client.certificate.serial_number, "x")


async def test_a_certificate_entering_its_last_30_days_is_announced_once(
    server: ServerProcess, operator: ParticipantClient
) -> None:
    """Told at 29 days left, not at 40, and only once. No waiting for nothing: whether housekeeping has looked
    since the clock moved is shown by another certificate that fell due at the same time (`early` at 40 days,
    `mc` at the last step), and a marker message closes each watch of lnsp's frames."""
    early = await new_participant(server, operator, "EARLY", ["LNSP"], enrol=True)  # 11 days older than lnsp's
    await advance(operator, 11)
    lnsp = await new_participant(server, operator, "LNSP", ["LNSP"], enrol=True)
    listed = await lnsp.http.get("/certs/v1/certificates", headers=lnsp.headers())
    [certificate] = listed.json()["data"]
    await advance(operator, 3)
    mc = await new_participant(server, operator, "LATE", ["MC"], enrol=True)  # 3 days younger than lnsp's
    async with (
        websockets.connect(events_url(server), additional_headers=lnsp.headers()) as socket,
        websockets.connect(events_url(server), additional_headers=early.headers()) as early_socket,
        websockets.connect(events_url(server), additional_headers=mc.headers()) as mc_socket,
    ):
        for subscribed in (socket, early_socket, mc_socket):
            assert await next_frame(subscribed) == {"eventType": "subscribed"}

        await advance(operator, LIFETIME_DAYS - 40 - 3)  # lnsp: 40 days left, not yet; early: 29
        await frames_until(early_socket, expiry_of(serial_of(early)))
        assert await expiry_frames_before_a_marker(socket, mc, lnsp) == []

        await advance(operator, 11)  # lnsp: 29 days left
        [frame] = await frames_until(socket, lambda frame: frame["eventType"] == "certificateExpiry")
        assert frame["certificateSerialNumber"] == certificate["serialNumber"]
        assert frame["notAfter"] == certificate["notAfter"]
        assert frame["daysLeft"] in (28, 29)  # whole days, rounded down

        await advance(operator, 5)  # mc: 27 days left, now due
        await frames_until(mc_socket, expiry_of(serial_of(mc)))
        assert await expiry_frames_before_a_marker(socket, mc, lnsp) == [], "the warning is given once"

    await lnsp.login()
    status = await lnsp.http.get("/certs/v1/status", headers=lnsp.headers())
    assert status.status_code == 200, status.text
    warnings = status.json()["data"]["warnings"]
    assert [(w["kind"], w["serialNumber"]) for w in warnings] == [("expiresSoon", certificate["serialNumber"])]
    for client in (lnsp, early, mc):
        await client.close()
