"""Queue expiry from outside, with the test clock: a message left 10 days in a queue leaves it as `expired`
(logged, counted down in flow control), a younger one stays, and expiry reopens a Stopped queue.

The module's exchange (tests/e2e/conftest.py) runs with `--test-clock`; housekeeping runs every 10 s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest

from simulators.client import ParticipantClient
from tests.e2e import read_side
from tests.e2e.conftest import Participants
from tests.e2e.queue_helpers import flow_detail, queued_ids, submit_one
from tests.harness import ServerProcess
from tests.problems import assert_problem

T = TypeVar("T")
SCOPES = ["PQD_BPQD", "TLS_CERTIFICATE_MANAGEMENT", "FCTRL_STATUS", "TRANSLOG_TRANSLOG"]
DAY = 86_400
EXPIRY_WITHIN = 35.0  # housekeeping every 10 s, plus the time to record and project


async def eventually(check: Callable[[], Awaitable[T]], within: float = 15.0) -> T:
    return await read_side.eventually(check, within, every=0.2)


class Made(Participants):
    """Participants holding SCOPES, not enrolled unless asked, on an exchange whose clock the test moves."""

    def __init__(self, server: ServerProcess, operator: ParticipantClient) -> None:
        super().__init__(server, operator, SCOPES, enrol=False)

    async def advance(self, seconds: float) -> None:
        """Move the exchange's clock on; every token has expired by then, so everyone logs in again."""
        response = await self.operator.http.post(
            "/admin/v1/clock", json={"advanceSeconds": seconds}, headers=self.operator.headers()
        )
        assert response.status_code == 200, response.text
        for client in (self.operator, *self.clients):
            await client.login()


@pytest.fixture
async def made(server: ServerProcess, operator: ParticipantClient) -> AsyncIterator[Made]:
    async with Made(server, operator) as participants:
        yield participants


async def queue_becomes(client: ParticipantClient, expected: set[str], within: float) -> None:
    async def check() -> None:
        ids = await queued_ids(client)
        assert len(ids) == len(expected) and set(ids) == expected, ids

    await eventually(check, within)


async def translog_of(client: ParticipantClient, context_id: str) -> tuple[str, list[str]]:
    """The row's current status and the statuses of its history, oldest first."""
    response = await client.http.get(f"/idx/v1/translog/{context_id}", headers=client.headers())
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    [row] = data["rows"]
    return str(row["status"]), [entry["status"] for entry in data["history"]]


async def test_a_message_left_ten_days_in_a_queue_expires_and_one_nine_days_old_stays(made: Made) -> None:
    """After 10 days and a minute the old message leaves as `expired` (logged, counted down); a 9-day one stays."""
    mc = await made.new("EXMC", ["MC"], enrol=True)
    lnsp = await made.new("EXL", ["LNSP"])
    old = await submit_one(mc, lnsp)
    await queue_becomes(lnsp, {old}, within=10)
    await made.advance(DAY)
    young = await submit_one(mc, lnsp)
    await queue_becomes(lnsp, {old, young}, within=10)
    assert (await flow_detail(lnsp))["messageCount"] == 2

    await made.advance(9 * DAY + 60)  # old: 10 days and a minute in the queue; young: 9 days and a minute
    await queue_becomes(lnsp, {young}, within=EXPIRY_WITHIN)
    assert_problem(await lnsp.fetch(old), 404)
    assert_problem(await lnsp.delete(old), 404)

    status, history = await eventually(lambda: _expired(lnsp, old))
    assert history == ["delivery_pending", "completed", "expired"], history
    assert await translog_of(mc, old) == (status, history), "the sender sees the same row"
    assert (await translog_of(lnsp, young))[0] == "completed"
    listed = await lnsp.http.get(
        "/idx/v1/translog", params={"status": "expired", "receivingParticipantId": lnsp.participant_id},
        headers=lnsp.headers(),
    )  # fmt: skip
    assert [r["messageContextId"] for r in listed.json()["data"]] == [old]

    view = await flow_detail(lnsp)
    assert (view["messageCount"], view["pendingCount"], view["messageStatus"]) == (1, 0, "Operational")
    assert view["resources"] == [{"businessFunctionResourceId": "bpqd", "messageCount": 1, "pendingCount": 0}]


async def _expired(client: ParticipantClient, context_id: str) -> tuple[str, list[str]]:
    status, history = await translog_of(client, context_id)
    assert status == "expired", (status, history)
    return status, history


async def test_expiry_below_low_reopens_a_stopped_queue_and_releases_the_held_messages(made: Made) -> None:
    """Watermarks 1/2/3: three queued (Stopped), two held; when the three expire the two enter, High first."""
    mc = await made.new("EXSMC", ["MC"], enrol=True)
    lnsp = await made.new("EXSL", ["LNSP"])
    response = await made.operator.http.put(
        f"/admin/v1/participants/{lnsp.participant_id}/flowcontrol/pqd",
        json={"low": 1, "warn": 2, "high": 3},
        headers=made.operator.headers(),
    )
    assert response.status_code == 200, response.text
    queued = [await submit_one(mc, lnsp) for _ in range(3)]
    await queue_becomes(lnsp, set(queued), within=10)
    held = [await submit_one(mc, lnsp, "Low"), await submit_one(mc, lnsp, "High")]

    async def stopped_with_two_waiting() -> dict[str, Any]:
        view = await flow_detail(lnsp)
        assert (view["messageStatus"], view["messageCount"], view["pendingCount"]) == ("Stopped", 3, 2), view
        return view

    await eventually(stopped_with_two_waiting)

    await made.advance(10 * DAY + 60)
    await queue_becomes(lnsp, set(held), within=EXPIRY_WITHIN)

    async def reopened() -> dict[str, Any]:
        view = await flow_detail(lnsp)
        assert (view["messageStatus"], view["messageCount"], view["pendingCount"]) == ("Warned", 2, 0), view
        return view

    await eventually(reopened)
    for context_id in queued:
        assert (await eventually(lambda c=context_id: _expired(lnsp, c)))[1][-1] == "expired"
    for context_id in held:
        status, history = await translog_of(lnsp, context_id)
        assert (status, history) == ("completed", ["delivery_pending", "completed"]), context_id

    history = await lnsp.http.get(
        "/idx/v1/participantStatus/history", params={"participantId": lnsp.participant_id}, headers=lnsp.headers()
    )
    rows = [(e["messageStatus"], e["messageCount"]) for e in history.json()["data"]]
    assert rows == [("Warned", 2), ("Stopped", 3), ("Operational", 0), ("Warned", 2)], rows
