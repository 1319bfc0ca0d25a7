"""Flow control from outside: watermarks fill a queue to Stopped and messages wait instead of being refused,
deletions release them in priority then submission order, the manual stop and its two-a-day allowance,
participant status with its history, the operator's watermarks, `flowControl` frames, and a crash mid-release.

Every test makes its own participants, so they share the module's exchange without seeing each other's queues.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any, TypeVar

import httpx
import pytest
import websockets

from simulators.client import ParticipantClient, operator_client, register
from tests.e2e import read_side
from tests.e2e.conftest import Participants
from tests.e2e.queue_helpers import flow_detail, queued_ids, submit_one
from tests.harness import ServerProcess
from tests.problems import assert_problem

T = TypeVar("T")
SENDER_SCOPES = ["PQD_BPQD", "TLS_CERTIFICATE_MANAGEMENT"]
RECEIVER_SCOPES = [
    "PQD_BPQD",
    "TLS_CERTIFICATE_MANAGEMENT",
    "FCTRL_FCTRL",
    "FCTRL_STATUS",
    "TRANSLOG_TRANSLOG",
    "EVENT_NOTIFY",
]
FLOW = "/idx/v1/flowcontrol/businessFunctions"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")


# ---------------------------------------------------------------------------------------------------- helpers


async def eventually(check: Callable[[], Awaitable[T]], within: float = 15.0) -> T:
    return await read_side.eventually(check, within, every=0.1)


# Participants a test makes, each with its own client and the scopes it names; not enrolled unless asked.
Made = Participants


@pytest.fixture
async def made(server: ServerProcess, operator: ParticipantClient) -> AsyncIterator[Made]:
    async with Made(server, operator, enrol=False) as participants:
        yield participants


async def sender_and_receiver(made: Made, prefix: str) -> tuple[ParticipantClient, ParticipantClient]:
    """An enrolled MC that sends and an LNSP that receives, with ids that start `prefix`."""
    mc = await made.new(f"{prefix}MC", ["MC"], SENDER_SCOPES, enrol=True)
    return mc, await made.new(f"{prefix}L", ["LNSP"], RECEIVER_SCOPES)


async def set_watermarks(operator: ParticipantClient, participant_id: str, low: int, warn: int, high: int) -> None:
    response = await operator.http.put(
        f"/admin/v1/participants/{participant_id}/flowcontrol/pqd",
        json={"low": low, "warn": warn, "high": high},
        headers=operator.headers(),
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["watermarks"] == {"low": low, "warn": warn, "high": high}


async def queued_total(client: ParticipantClient) -> int:
    response = await client.list_queue(itemCount=1)
    assert response.status_code == 200, response.text
    return int(response.json()["meta"]["totalRecords"])


async def settled(client: ParticipantClient, queued: int, pending: int) -> dict[str, Any]:
    """The detail view once the queue lists `queued` messages and `pending` wait (bounded poll)."""

    async def check() -> dict[str, Any]:
        total = await queued_total(client)
        view = await flow_detail(client)
        assert (total, view["pendingCount"], view["messageCount"]) == (queued, pending, queued), (total, view)
        return view

    return await eventually(check)


class Frames:
    """Every frame of a participant's notification socket, collected in the background."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def of(self, event_type: str) -> list[dict[str, Any]]:
        return [f for f in self.items if f["eventType"] == event_type]

    def available(self) -> list[str]:
        return [f["messageContextId"] for f in self.of("messageAvailable")]

    def flow(self) -> list[tuple[str, int, bool]]:
        return [(f["messageStatus"], f["messageCount"], f["manualStop"]) for f in self.of("flowControl")]


@asynccontextmanager
async def collecting(server: ServerProcess, client: ParticipantClient) -> AsyncIterator[Frames]:
    url = server.base_url.replace("http://", "ws://") + "/idx/v1/events"
    frames = Frames()
    async with websockets.connect(url + "?ready=true", additional_headers=client.headers()) as socket:
        assert json.loads(await asyncio.wait_for(socket.recv(), 10.0)) == {"eventType": "subscribed"}

        async def read() -> None:
            async for raw in socket:
                frames.items.append(dict(json.loads(raw)))

        reader = asyncio.create_task(read())
        try:
            yield frames
        finally:
            reader.cancel()
            with suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await reader


async def mark(operator: ParticipantClient, frames: Frames) -> None:
    """Wait for a marker: an outage announced now reaches every participant after every earlier event's frame,
    so once it is in `frames`, nothing that happened before it is still to come."""
    detail = f"marker {secrets.token_hex(4)}"
    answer = await operator.http.post("/admin/v1/outages", json={"detail": detail}, headers=operator.headers())
    assert answer.status_code == 201, answer.text
    await eventually(lambda: _assert_length([f for f in frames.of("outage") if f["detail"] == detail], 1))


async def translog_statuses(operator: ParticipantClient, context_id: str) -> list[str]:
    response = await operator.http.get(f"/idx/v1/translog/{context_id}", headers=operator.headers())
    assert response.status_code == 200, response.text
    return [entry["status"] for entry in response.json()["data"]["history"]]


async def translog_status(operator: ParticipantClient, context_id: str) -> str:
    response = await operator.http.get(
        "/idx/v1/translog", params={"messageContextId": context_id}, headers=operator.headers()
    )
    assert response.status_code == 200, response.text
    rows = response.json()["data"]
    assert len(rows) == 1, rows
    return str(rows[0]["status"])


async def switch(client: ParticipantClient, delivery: str) -> httpx.Response:
    return await client.http.patch(f"{FLOW}/pqd", json={"messageDelivery": delivery}, headers=client.headers())


# ------------------------------------------------------------------------------------------------------ tests


async def test_twelve_submissions_fill_the_queue_to_high_and_deleting_below_low_releases_the_rest_in_order(
    server: ServerProcess, operator: ParticipantClient, made: Made
) -> None:
    """Watermarks 3/5/8: 8 queued (Stopped) and 4 waiting; deleting to 2 releases High, Medium, Low, Low in turn."""
    mc, lnsp = await sender_and_receiver(made, "FC")
    await set_watermarks(operator, lnsp.participant_id, 3, 5, 8)
    accepted, deleted = 0, 0

    async with collecting(server, lnsp) as frames:
        first = [await submit_one(mc, lnsp) for _ in range(8)]
        accepted += 8
        view = await settled(lnsp, queued=8, pending=0)
        assert view["messageStatus"] == "Stopped"
        assert sorted(await queued_ids(lnsp)) == sorted(first)

        # Submitted Low, Medium, High, Low: released High, Medium, then the Lows in submission order.
        low_1 = await submit_one(mc, lnsp, "Low")
        medium = await submit_one(mc, lnsp, "Medium")
        high = await submit_one(mc, lnsp, "High")
        low_2 = await submit_one(mc, lnsp, "Low")
        held = [low_1, medium, high, low_2]
        accepted += 4
        view = await settled(lnsp, queued=8, pending=4)
        assert 8 + 4 + deleted == accepted
        assert view["messageStatus"] == "Stopped"
        assert view["manualStop"] is False
        assert view["watermarks"] == {"low": 3, "warn": 5, "high": 8}
        assert TIMESTAMP.match(view["messageBreachedTimestamp"] or ""), view
        assert view["resources"] == [{"businessFunctionResourceId": "bpqd", "messageCount": 8, "pendingCount": 4}]
        assert not set(held) & set(await queued_ids(lnsp)), "a held message is in the queue"

        breaches = await lnsp.http.get(FLOW, headers=lnsp.headers())
        assert breaches.status_code == 200, breaches.text
        [item] = breaches.json()["data"]["businessFunctions"]
        assert (item["businessFunctionId"], item["messageStatus"], item["messageCount"]) == ("pqd", "Stopped", 8)

        for context_id in held:
            assert await eventually(lambda c=context_id: translog_status(operator, c)) == "delivery_pending"
        for context_id in first:
            assert await translog_status(operator, context_id) == "completed"

        # Down to 3 the queue stays Stopped (hysteresis) and nothing is released; at 2 the four enter.
        for index, context_id in enumerate(first[:5]):
            response = await lnsp.delete(context_id)
            assert response.status_code == 204, response.text
            deleted += 1
            view = await settled(lnsp, queued=7 - index, pending=4)
            assert view["messageStatus"] == "Stopped", view
            assert (7 - index) + 4 + deleted == accepted
        response = await lnsp.delete(first[5])
        assert response.status_code == 204, response.text
        deleted += 1
        view = await settled(lnsp, queued=6, pending=0)
        assert 6 + 0 + deleted == accepted
        assert view["messageStatus"] == "Warned", view
        assert sorted(await queued_ids(lnsp)) == sorted(first[6:] + held)

        await eventually(lambda: _assert_length(frames.available(), 12))
        assert frames.available()[:8] == first
        assert frames.available()[8:] == [high, medium, low_1, low_2], "released out of priority/submission order"
        await eventually(lambda: _assert_length(frames.flow(), 4))
        assert frames.flow() == [("Warned", 5, False), ("Stopped", 8, False), ("Operational", 2, False),
                                 ("Warned", 5, False)]  # fmt: skip

    for context_id in held:
        statuses = await eventually(lambda c=context_id: _history_ends_completed(operator, c))
        assert statuses == ["delivery_pending", "completed"], (context_id, statuses)


async def test_deleting_a_stopped_queue_all_at_once_releases_every_held_message_exactly_once(
    server: ServerProcess, operator: ParticipantClient, made: Made
) -> None:
    """Concurrent DELETEs share their recounts: the last recount still sees every removal, so the queue reopens."""
    mc, lnsp = await sender_and_receiver(made, "FC")
    await set_watermarks(operator, lnsp.participant_id, 3, 5, 8)
    first = [await submit_one(mc, lnsp) for _ in range(8)]
    held = [await submit_one(mc, lnsp) for _ in range(4)]
    await settled(lnsp, queued=8, pending=4)

    responses = await asyncio.gather(*(lnsp.delete(context_id) for context_id in first))
    assert [r.status_code for r in responses] == [204] * 8, [r.text for r in responses]

    # However the recounts interleaved, the four held messages end in the queue and none still waits.
    await settled(lnsp, queued=4, pending=0)
    assert sorted(await queued_ids(lnsp)) == sorted(held)
    for context_id in held:
        statuses = await eventually(lambda c=context_id: _history_ends_completed(operator, c))
        assert statuses == ["delivery_pending", "completed"], (context_id, statuses)


async def _assert_length(items: list[Any], length: int) -> None:
    assert len(items) >= length, items


async def _history_ends_completed(operator: ParticipantClient, context_id: str) -> list[str]:
    statuses = await translog_statuses(operator, context_id)
    assert statuses[-1:] == ["completed"], statuses
    return statuses


async def test_a_manual_stop_holds_messages_with_an_empty_queue_and_start_releases_them_at_most_twice_a_day(
    server: ServerProcess, operator: ParticipantClient, made: Made
) -> None:
    """Stopped by hand: messages wait (no messageAvailable); Started releases them in order; a third switch is 429."""
    mc, lnsp = await sender_and_receiver(made, "MS")
    reader = ParticipantClient(server.base_url, lnsp.credentials)
    made.clients.append(reader)
    await reader.login("PQD_BPQD FCTRL_STATUS")

    assert_problem(await switch(reader, "Stopped"), 403)  # without FCTRL_FCTRL, and it costs no switch
    assert_problem(await switch(lnsp, "Paused"), 422)  # nor does a body that is not Stopped or Started
    already = await switch(lnsp, "Started")  # nor asking for what is already so: it changes nothing
    assert (already.status_code, already.json()["data"]["manualStop"]) == (200, False)
    assert (await flow_detail(lnsp))["manualSwitches"] == {"usedToday": 0, "perDay": 2}
    async with collecting(server, lnsp) as frames:
        stopped = await switch(lnsp, "Stopped")
        assert stopped.status_code == 200, stopped.text
        assert (stopped.json()["data"]["manualStop"], stopped.json()["data"]["messageStatus"]) == (True, "Operational")
        breaches = await lnsp.http.get(FLOW, headers=lnsp.headers())
        assert [i["businessFunctionId"] for i in breaches.json()["data"]["businessFunctions"]] == ["pqd"]

        low = await submit_one(mc, lnsp, "Low")
        high = await submit_one(mc, lnsp, "High")
        medium = await submit_one(mc, lnsp, "Medium")
        view = await settled(lnsp, queued=0, pending=3)
        assert view["resources"] == [{"businessFunctionResourceId": "bpqd", "messageCount": 0, "pendingCount": 3}]
        await mark(operator, frames)  # every frame of the events so far has arrived
        assert await queued_total(lnsp) == 0
        assert frames.available() == [], "a held message was announced"
        assert frames.flow() == [("Operational", 0, True)]

        started = await switch(lnsp, "Started")
        assert started.status_code == 200, started.text
        assert started.json()["data"]["manualStop"] is False
        await settled(lnsp, queued=3, pending=0)
        await eventually(lambda: _assert_length(frames.available(), 3))
        assert frames.available() == [high, medium, low]
        await eventually(lambda: _assert_length(frames.flow(), 2))
        await mark(operator, frames)
        assert [(status, manual) for status, _, manual in frames.flow()] == [("Operational", True),
                                                                             ("Operational", False)]  # fmt: skip

    third = await switch(lnsp, "Stopped")
    assert_problem(third, 429)
    retry_after = int(third.headers["Retry-After"])
    assert 0 < retry_after <= 86_400, retry_after
    view = await flow_detail(lnsp)
    assert view["manualStop"] is False, "the refused switch changed the state"
    assert view["manualSwitches"] == {"usedToday": 2, "perDay": 2}


async def test_participant_status_shows_the_current_state_and_every_transition_oldest_first(
    server: ServerProcess, operator: ParticipantClient, made: Made
) -> None:
    """Filled to Stopped, emptied to Operational, stopped and started by hand: five history rows with counts."""
    mc, lnsp = await sender_and_receiver(made, "PS")
    quiet = await made.new("PSQ", ["LNSP"], RECEIVER_SCOPES)
    await set_watermarks(operator, lnsp.participant_id, 3, 5, 8)

    sent = [await submit_one(mc, lnsp) for _ in range(8)]
    await settled(lnsp, queued=8, pending=0)
    for context_id in sent[:6]:
        assert (await lnsp.delete(context_id)).status_code == 204
    await settled(lnsp, queued=2, pending=0)
    assert (await switch(lnsp, "Stopped")).status_code == 200

    async def stopped_by_hand() -> dict[tuple[str, str], Any]:
        """The status rows once the manual stop is projected (the switch is answered before that)."""
        status = await lnsp.http.get("/idx/v1/participantStatus", headers=lnsp.headers())
        assert status.status_code == 200, status.text
        rows = {(r["participantId"], r["businessFunctionId"]): r for r in status.json()["data"]}
        mine = rows[(lnsp.participant_id, "pqd")]
        assert (mine["messageStatus"], mine["manualStop"], mine["messageCount"]) == ("Operational", True, 2)
        return rows

    rows = await eventually(stopped_by_hand)
    mine = rows[(lnsp.participant_id, "pqd")]
    assert TIMESTAMP.match(mine["since"] or ""), mine
    fresh = rows[(quiet.participant_id, "pqd")]
    assert (fresh["messageStatus"], fresh["manualStop"], fresh["messageCount"]) == ("Operational", False, 0)
    assert (mc.participant_id, "pqd") not in rows, "an MC does not receive BPQD"

    assert (await switch(lnsp, "Started")).status_code == 200

    async def started_again() -> None:
        only = await lnsp.http.get(
            "/idx/v1/participantStatus", params={"participantId": lnsp.participant_id}, headers=lnsp.headers()
        )
        assert only.status_code == 200, only.text
        assert [(r["participantId"], r["manualStop"]) for r in only.json()["data"]] == [(lnsp.participant_id, False)]

    await eventually(started_again)

    async def every_transition() -> list[dict[str, Any]]:
        """The history once the last switch is projected: five rows, oldest first."""
        history = await lnsp.http.get(
            "/idx/v1/participantStatus/history", params={"participantId": lnsp.participant_id}, headers=lnsp.headers()
        )
        assert history.status_code == 200, history.text
        found: list[dict[str, Any]] = history.json()["data"]
        assert [(e["messageStatus"], e["manualStop"], e["messageCount"]) for e in found] == [
            ("Warned", False, 5),
            ("Stopped", False, 8),
            ("Operational", False, 2),
            ("Operational", True, 2),
            ("Operational", False, 2),
        ]
        return found

    entries = await eventually(every_transition)
    assert {(e["participantId"], e["businessFunctionId"]) for e in entries} == {(lnsp.participant_id, "pqd")}
    assert all(TIMESTAMP.match(e["changedDateTime"]) for e in entries), entries
    times = [e["changedDateTime"] for e in entries]
    assert times == sorted(times), "history is not oldest first"
    since_third = await lnsp.http.get(
        "/idx/v1/participantStatus/history",
        params={"participantId": lnsp.participant_id, "businessFunctionId": "pqd", "fromDateTime": times[2]},
        headers=lnsp.headers(),
    )
    assert [e["changedDateTime"] for e in since_third.json()["data"]] == times[2:]

    breaches = await lnsp.http.get(FLOW, headers=lnsp.headers())
    assert breaches.json()["data"]["businessFunctions"] == []
    expanded = await lnsp.http.get(FLOW, params={"expand": "true"}, headers=lnsp.headers())
    [item] = expanded.json()["data"]["businessFunctions"]
    assert (item["businessFunctionId"], item["messageStatus"], item["messageCount"]) == ("pqd", "Operational", 2)

    translog = await lnsp.http.get(
        "/idx/v1/translog", params={"messageType": "flowControl", "sort": "createdDateTime"}, headers=lnsp.headers()
    )
    assert translog.status_code == 200, translog.text
    assert [r["status"] for r in translog.json()["data"]] == ["Warned", "Stopped", "Operational", "Operational",
                                                              "Operational"]  # fmt: skip


async def test_the_operator_sets_watermarks_only_when_low_warn_high_are_ordered(
    operator: ParticipantClient, made: Made
) -> None:
    """422 unless 0 <= low < warn < high; 403 without IDX_ADMIN; 404 for an unknown participant or function."""
    lnsp = await made.new("WML", ["LNSP"], RECEIVER_SCOPES)
    path = f"/admin/v1/participants/{lnsp.participant_id}/flowcontrol/pqd"
    for low, warn, high in ((-1, 5, 8), (5, 5, 8), (3, 8, 8), (3, 9, 8), (9, 5, 8)):
        response = await operator.http.put(path, json={"low": low, "warn": warn, "high": high},
                                           headers=operator.headers())  # fmt: skip
        problem = assert_problem(response, 422)
        assert problem.get("errors"), problem
    for body in ({"low": 1, "warn": 2}, {"low": 1.5, "warn": 2, "high": 3}, {"low": None, "warn": 2, "high": 3}):
        assert_problem(await operator.http.put(path, json=body, headers=operator.headers()), 422)
    view = await flow_detail(lnsp)
    assert view["watermarks"] == {"low": 8000, "warn": 9000, "high": 10000}, "a refused PUT changed the watermarks"

    response = await operator.http.put(path, json={"low": 0, "warn": 1, "high": 2}, headers=operator.headers())
    assert response.status_code == 200, response.text
    assert (await flow_detail(lnsp))["watermarks"] == {"low": 0, "warn": 1, "high": 2}

    assert_problem(await lnsp.http.put(path, json={"low": 1, "warn": 2, "high": 3}, headers=lnsp.headers()), 403)
    assert (await flow_detail(lnsp))["watermarks"] == {"low": 0, "warn": 1, "high": 2}
    assert_problem(
        await operator.http.put(
            "/admin/v1/participants/NOSUCH9/flowcontrol/pqd",
            json={"low": 1, "warn": 2, "high": 3},
            headers=operator.headers(),
        ),
        404,
    )
    assert_problem(
        await operator.http.put(
            f"/admin/v1/participants/{lnsp.participant_id}/flowcontrol/nosuch",
            json={"low": 1, "warn": 2, "high": 3},
            headers=operator.headers(),
        ),
        404,
    )


async def test_flow_control_frames_arrive_on_every_transition_with_status_count_and_manual_stop(
    server: ServerProcess, operator: ParticipantClient, made: Made
) -> None:
    """Watermarks 1/2/3 and three messages: a Warned and a Stopped frame, then a manual-stop frame, all complete."""
    mc, lnsp = await sender_and_receiver(made, "FR")
    await set_watermarks(operator, lnsp.participant_id, 1, 2, 3)
    async with collecting(server, lnsp) as frames:
        for _ in range(3):
            await submit_one(mc, lnsp)
        await settled(lnsp, queued=3, pending=0)
        assert (await switch(lnsp, "Stopped")).status_code == 200
        await eventually(lambda: _assert_length(frames.of("flowControl"), 3))
        await mark(operator, frames)
        flow = frames.of("flowControl")
    assert frames.flow() == [("Warned", 2, False), ("Stopped", 3, False), ("Stopped", 3, True)]
    for frame in flow:
        assert frame["businessFunctionId"] == "pqd", frame
        assert TIMESTAMP.match(frame["timestamp"]), frame
    assert [f["sequence"] for f in frames.items] == list(range(1, len(frames.items) + 1))
    assert len(frames.items) == 7  # three messageAvailable, three flowControl and the marker


async def test_a_manual_start_that_releases_held_messages_records_each_transition_with_its_own_count(
    server: ServerProcess, operator: ParticipantClient, made: Made
) -> None:
    """Watermarks 1/2/3, four held by hand, Started: history reads start at 0, Warned at 2, Stopped at 3, in order."""
    mc, lnsp = await sender_and_receiver(made, "MR")
    await set_watermarks(operator, lnsp.participant_id, 1, 2, 3)
    assert (await switch(lnsp, "Stopped")).status_code == 200
    held = [await submit_one(mc, lnsp, p) for p in ("Low", "Medium", "High", "Medium")]
    await settled(lnsp, queued=0, pending=4)
    assert (await switch(lnsp, "Started")).status_code == 200
    view = await settled(lnsp, queued=3, pending=1)
    assert view["messageStatus"] == "Stopped"
    assert sorted(await queued_ids(lnsp)) == sorted(held[1:]), "the Low one should be the one left waiting"

    history = await lnsp.http.get(
        "/idx/v1/participantStatus/history", params={"participantId": lnsp.participant_id}, headers=lnsp.headers()
    )
    rows = [(e["messageStatus"], e["manualStop"], e["messageCount"]) for e in history.json()["data"]]
    # The start happened with an empty queue; a row claiming Operational at count 3 (= High) contradicts the
    # watermarks, and counts running 3, 2, 3 without a deletion describe no real sequence of events.
    assert rows == [
        ("Operational", True, 0),
        ("Operational", False, 0),
        ("Warned", False, 2),
        ("Stopped", False, 3),
    ]


async def test_a_crash_right_after_the_start_that_releases_held_messages_loses_and_duplicates_none(
    crash_server: ServerProcess,
) -> None:
    """60 messages held by a manual stop; Started, then kill -9 at once; after restart each is queued exactly once."""
    operator = await operator_client(crash_server.base_url, crash_server.operator_secret)
    mc = ParticipantClient(crash_server.base_url, await register(operator, "FCRASHMC", ["MC"], SENDER_SCOPES))
    lnsp = ParticipantClient(crash_server.base_url, await register(operator, "FCRASHL", ["LNSP"], RECEIVER_SCOPES))
    await operator.close()
    try:
        await mc.login()
        await mc.enrol()
        await lnsp.login()
        assert (await switch(lnsp, "Stopped")).status_code == 200
        priorities = ("High", "Medium", "Low")
        accepted: list[str] = []
        for batch in range(6):
            accepted += await asyncio.gather(*(submit_one(mc, lnsp, priorities[(batch + i) % 3]) for i in range(10)))
        await settled(lnsp, queued=0, pending=60)

        response = await switch(lnsp, "Started")
        assert response.status_code == 200, response.text
        crash_server.kill9()
        crash_server.start()
        await lnsp.login()

        async def all_queued() -> list[str]:
            ids = await queued_ids(lnsp)
            assert len(ids) >= len(accepted), len(ids)
            return ids

        ids = await eventually(all_queued, within=60)
        duplicated = [i for i, n in Counter(ids).items() if n > 1]
        assert not duplicated, f"{len(duplicated)} messages are queued twice"
        assert set(ids) == set(accepted), f"{len(set(accepted) - set(ids))} accepted messages were lost"
        view = await settled(lnsp, queued=60, pending=0)
        assert view["manualStop"] is False
    finally:
        await mc.close()
        await lnsp.close()
