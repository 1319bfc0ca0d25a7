"""A participant is told once, by a `certificateExpiry` notification, that its certificate enters its last days.

The module's exchange runs with `--test-clock` and `--certificate-warning-days 30`; housekeeping looks every 10 s.

No test waits for a time to pass. The participant holds three certificates issued a few days apart, and the
exchange's watch looks at them in the order they were issued, so each clock step is chosen to bring one of them
into the window: its notice is the positive sign that the watch looked after the step, and it must be the very
next notice, which shows that nothing else was announced before it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
import websockets

from simulators.client import ParticipantClient, make_csr, new_key
from tests.e2e.read_side import new_participant
from tests.harness import ServerProcess, running_server

pytestmark = pytest.mark.e2e
DAY = 86400
LIFETIME_DAYS = 1095
# A bound on waiting for a notice that must come (housekeeping looks every 10 s), not a measure of speed.
NOTICE_WITHIN = 60.0


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


async def issue(client: ParticipantClient, name: str) -> dict[str, Any]:
    response = await client.http.post(
        "/certs/v1/certificates",
        json={"csr": make_csr(new_key(), f"{client.participant_id}-{name}")},
        headers=client.headers(),
    )
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()["data"]
    return issued


async def next_notice(server: ServerProcess, client: ParticipantClient, since: int) -> dict[str, Any]:
    """The participant's first `certificateExpiry` frame after sequence `since`, on a socket opened afresh.

    A clock step expires the participant's token, so each step is followed by a new token and a new socket that
    replays from `since`: nothing announced in between is missed.
    """
    await client.login()
    url = server.base_url.replace("http://", "ws://") + f"/idx/v1/events?since={since}&ready=true"
    async with websockets.connect(url, additional_headers=client.headers()) as socket:
        subscribed = json.loads(await asyncio.wait_for(socket.recv(), NOTICE_WITHIN))
        assert subscribed["eventType"] == "subscribed", subscribed
        while True:
            frame: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), NOTICE_WITHIN))
            if frame["eventType"] == "certificateExpiry":
                return frame


async def test_a_certificate_entering_its_last_30_days_is_announced_once(
    server: ServerProcess, operator: ParticipantClient
) -> None:
    lnsp = await new_participant(server, operator, "LNSP", ["LNSP"])
    first = await issue(lnsp, "first")
    await advance(operator, 10)
    await lnsp.login()
    watched = await issue(lnsp, "watched")  # the certificate the test is about: 10 days younger than `first`
    await advance(operator, 3)
    await lnsp.login()
    last = await issue(lnsp, "last")  # 3 days younger than `watched`

    # `first` has 29 days left and is announced; `watched` (39 days left) must not be, and so the next notice is
    # checked to be the one for `watched` with fewer than 30 days left.
    await advance(operator, LIFETIME_DAYS - 13 - 29)
    notice = await next_notice(server, lnsp, since=0)
    assert (notice["certificateSerialNumber"], notice["daysLeft"]) in ((first["serialNumber"], d) for d in (28, 29))

    await advance(operator, 10)  # `watched` has 29 days left, `last` 32
    [before, notice] = [notice, await next_notice(server, lnsp, since=notice["sequence"])]
    assert notice["sequence"] == before["sequence"] + 1, "nothing else was announced in between"
    assert notice["certificateSerialNumber"] == watched["serialNumber"]
    assert notice["notAfter"] == watched["notAfter"]
    assert notice["daysLeft"] in (28, 29)  # whole days, rounded down: not announced at 39 days left

    # `last` enters its window (27 days left); `watched`, now 24 days from its end, must not be announced again,
    # here or in any look since its notice, all of which come before this one.
    await advance(operator, 5)
    [before, notice] = [notice, await next_notice(server, lnsp, since=notice["sequence"])]
    assert notice["certificateSerialNumber"] == last["serialNumber"], "the warning is given once"
    assert notice["sequence"] == before["sequence"] + 1

    await lnsp.login()
    status = await lnsp.http.get("/certs/v1/status", headers=lnsp.headers())
    assert status.status_code == 200, status.text
    warnings = status.json()["data"]["warnings"]
    assert [(w["kind"], w["serialNumber"]) for w in warnings] == [
        ("expiresSoon", c["serialNumber"]) for c in (first, watched, last)
    ]
    await lnsp.close()
