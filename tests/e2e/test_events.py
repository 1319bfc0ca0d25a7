"""WebSocket notifications from outside: `messageAvailable` frames, gap-free sequences, `since` replay, the
`ready` handshake, per-participant isolation, and the close codes of a refused connection.

No test sleeps: a socket waits for its `subscribed` frame before anything is sent, and "nothing more arrives" is
shown by a marker message whose frame must be the very next one."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from exchange.functions.bpqd.sample import sample_body
from simulators.client import ParticipantClient
from tests.e2e.conftest import Participants
from tests.e2e.queue_helpers import accepted_id, queued_ids
from tests.e2e.read_side import ALL_SCOPES, close_code_of, eventually
from tests.harness import ServerProcess

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")


@pytest.fixture
async def made(server: ServerProcess, operator: ParticipantClient) -> AsyncIterator[Participants]:
    """Participants a test makes (holding the read-side entities, enrolled only if asked), closed after it."""
    async with Participants(server, operator, ALL_SCOPES, enrol=False) as participants:
        yield participants


@pytest.fixture
async def mc(made: Participants) -> ParticipantClient:
    return await made.new("EVMC", ["MC"], enrol=True)


@pytest.fixture
async def lnsp_a(made: Participants) -> ParticipantClient:
    return await made.new("EVA", ["LNSP"])


@pytest.fixture
async def lnsp_b(made: Participants) -> ParticipantClient:
    return await made.new("EVB", ["LNSP"])


def events_url(server: ServerProcess, **query: Any) -> str:
    url = server.base_url.replace("http://", "ws://") + "/idx/v1/events"
    if query:
        url += "?" + "&".join(f"{name}={value}" for name, value in query.items())
    return url


@asynccontextmanager
async def listening(server: ServerProcess, client: ParticipantClient, **query: Any) -> AsyncIterator[ClientConnection]:
    """A notification socket of `client` (token in the Authorization header), live: its `subscribed` frame came."""
    async with websockets.connect(
        events_url(server, ready="true", **query), additional_headers=client.headers()
    ) as socket:
        await assert_subscribed(socket, **query)
        yield socket


async def assert_subscribed(socket: ClientConnection, **query: Any) -> None:
    """The first frame of a `ready=true` socket: `subscribed`, echoing `since` when it was given."""
    expected: dict[str, Any] = {"eventType": "subscribed"}
    if "since" in query:
        expected["since"] = int(query["since"])
    assert await next_frame(socket) == expected


async def next_frame(socket: ClientConnection, within: float = 5.0) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(socket.recv(), within)))


async def frames(socket: ClientConnection, count: int) -> list[dict[str, Any]]:
    return [await next_frame(socket) for _ in range(count)]


async def sent_and_seen(
    socket: ClientConnection, mc: ParticipantClient, recipient: ParticipantClient, count: int
) -> tuple[list[str], list[dict[str, Any]]]:
    """The context ids of `count` messages from `mc` to `recipient`, and the `count` frames `socket` gets next."""
    sent = [await send(mc, recipient) for _ in range(count)]
    return sent, await frames(socket, count)


async def assert_next_is_a_marker(
    socket: ClientConnection, mc: ParticipantClient, recipient: ParticipantClient, sequence: int
) -> None:
    """Nothing more arrived: a marker message sent now gives the very next frame, with the next `sequence`."""
    marker = await send(mc, recipient)
    frame = await next_frame(socket)
    assert (frame["sequence"], frame["messageContextId"]) == (sequence, marker), frame


async def send(mc: ParticipantClient, *recipients: ParticipantClient, priority: str = "Medium") -> str:
    """Submit a BPQD message and wait until it sits in every recipient's queue; its messageContextId."""
    body = sample_body(mc.participant_id, [r.participant_id for r in recipients], priority=priority)
    context_id = await accepted_id(mc, body, priority)

    async def in_every_queue() -> None:
        for recipient in recipients:
            assert context_id in await queued_ids(recipient), f"{context_id} never reached {recipient.participant_id}"

    await eventually(in_every_queue)
    return context_id


async def test_an_lnsp_receives_message_available_for_a_submission(
    server: ServerProcess, mc: ParticipantClient, lnsp_a: ParticipantClient
) -> None:
    """The frame carries every documented field. (How soon it comes is measured by `idx bench`.)"""
    async with listening(server, lnsp_a) as socket:
        body = sample_body(mc.participant_id, [lnsp_a.participant_id], priority="High")
        response = await mc.submit(body, priority="High")
        assert response.status_code == 200, response.text
        frame = await next_frame(socket, within=10.0)
    assert frame["sequence"] == 1
    assert frame["eventType"] == "messageAvailable"
    assert TIMESTAMP.match(frame["timestamp"]), frame
    assert frame["messageContextId"] == response.json()["data"]["messageContextId"]
    assert frame["messageType"]
    assert frame["priority"] == "High"
    assert frame["initiatingParticipantId"] == mc.participant_id
    assert frame["businessFunctionId"] == "pqd"
    assert frame["businessFunctionResourceId"] == "bpqd"


async def test_sequences_rise_by_exactly_one_per_participant(
    server: ServerProcess, mc: ParticipantClient, lnsp_a: ParticipantClient
) -> None:
    """Five messages give frames 1 to 5 in delivery order, one per message."""
    async with listening(server, lnsp_a) as socket:
        sent, got = await sent_and_seen(socket, mc, lnsp_a, 5)
        await assert_next_is_a_marker(socket, mc, lnsp_a, sequence=6)
    assert [f["sequence"] for f in got] == [1, 2, 3, 4, 5]
    assert [f["messageContextId"] for f in got] == sent


async def test_reconnecting_with_since_delivers_exactly_the_missed_events_in_order_then_live_ones(
    server: ServerProcess, mc: ParticipantClient, lnsp_a: ParticipantClient
) -> None:
    """Seen 1-2, disconnected while 3-5 happen: `since=2` replays 3, 4, 5 in order, nothing else, then 6 live."""
    async with listening(server, lnsp_a) as socket:
        first, seen = await sent_and_seen(socket, mc, lnsp_a, 2)
    assert [(f["sequence"], f["messageContextId"]) for f in seen] == [(1, first[0]), (2, first[1])]

    missed = [await send(mc, lnsp_a) for _ in range(3)]
    async with listening(server, lnsp_a, since=seen[-1]["sequence"]) as socket:
        replayed = await frames(socket, 3)
        live = await send(mc, lnsp_a)
        after = await next_frame(socket)  # the next frame: nothing came between the replay and it
        await assert_next_is_a_marker(socket, mc, lnsp_a, sequence=7)
    assert [(f["sequence"], f["messageContextId"]) for f in replayed] == list(zip([3, 4, 5], missed, strict=True))
    assert (after["sequence"], after["messageContextId"]) == (6, live)


async def test_since_zero_replays_every_event(
    server: ServerProcess, mc: ParticipantClient, lnsp_a: ParticipantClient
) -> None:
    """A participant with three past events gets frames 1, 2, 3 on `since=0`, and nothing more."""
    sent = [await send(mc, lnsp_a, priority=p) for p in ("High", "Medium", "Low")]
    async with listening(server, lnsp_a, since=0) as socket:
        got = await frames(socket, 3)
        await assert_next_is_a_marker(socket, mc, lnsp_a, sequence=4)
    assert [(f["sequence"], f["messageContextId"], f["priority"]) for f in got] == [
        (1, sent[0], "High"),
        (2, sent[1], "Medium"),
        (3, sent[2], "Low"),
    ]


async def test_nothing_is_sent_on_connect_without_since(
    server: ServerProcess, mc: ParticipantClient, lnsp_a: ParticipantClient
) -> None:
    """Past events are not replayed to a socket that did not ask; the next new one arrives with the next sequence.
    Without `ready` the first frame is that event: nothing at all is sent on connect."""
    await send(mc, lnsp_a)
    await send(mc, lnsp_a)
    async with listening(server, lnsp_a, since=0) as replaying:
        assert [f["sequence"] for f in await frames(replaying, 2)] == [1, 2]  # both are published
    async with listening(server, lnsp_a) as socket:
        live = await send(mc, lnsp_a)
        frame = await next_frame(socket)
    assert (frame["sequence"], frame["messageContextId"]) == (3, live)
    # Without `ready` (and with `since`, so that no race decides what it sees) the first frame is an event.
    async with websockets.connect(events_url(server, since=3), additional_headers=lnsp_a.headers()) as plain:
        marker = await send(mc, lnsp_a)
        first = await next_frame(plain)
    assert (first["eventType"], first["sequence"], first["messageContextId"]) == ("messageAvailable", 4, marker)


async def test_one_lnsp_never_receives_another_lnsps_events(
    server: ServerProcess, mc: ParticipantClient, lnsp_a: ParticipantClient, lnsp_b: ParticipantClient
) -> None:
    """A gets frames for its own messages and the shared one, B for its own and the shared one, each from 1."""
    async with listening(server, lnsp_a) as socket_a, listening(server, lnsp_b) as socket_b:
        to_a = await send(mc, lnsp_a)
        to_b = await send(mc, lnsp_b)
        to_both = await send(mc, lnsp_a, lnsp_b)
        got_a = await frames(socket_a, 2)
        got_b = await frames(socket_b, 2)
        await assert_next_is_a_marker(socket_a, mc, lnsp_a, sequence=3)
        await assert_next_is_a_marker(socket_b, mc, lnsp_b, sequence=3)
    assert [(f["sequence"], f["messageContextId"]) for f in got_a] == [(1, to_a), (2, to_both)]
    assert [(f["sequence"], f["messageContextId"]) for f in got_b] == [(1, to_b), (2, to_both)]
    async with listening(server, lnsp_b, since=0) as socket:
        replayed = await frames(socket, 3)
        await assert_next_is_a_marker(socket, mc, lnsp_b, sequence=4)
    assert to_a not in {f["messageContextId"] for f in replayed}


async def test_the_token_may_come_in_the_access_token_query_parameter(
    server: ServerProcess, mc: ParticipantClient, lnsp_a: ParticipantClient
) -> None:
    """A browser cannot set headers on a WebSocket: `?access_token=` authenticates just the same."""
    assert lnsp_a.token is not None
    async with websockets.connect(events_url(server, access_token=lnsp_a.token, ready="true")) as socket:
        await assert_subscribed(socket)
        sent = await send(mc, lnsp_a)
        frame = await next_frame(socket)
    assert (frame["sequence"], frame["messageContextId"]) == (1, sent)


async def test_a_token_without_event_notify_is_closed_with_4403(
    server: ServerProcess, lnsp_a: ParticipantClient
) -> None:
    """A valid token lacking EVENT_NOTIFY: the socket is accepted, then closed with 4000 + 403."""
    await lnsp_a.login(scope="PQD_BPQD")
    assert await close_code_of(events_url(server), lnsp_a.headers()) == 4403
    assert await close_code_of(events_url(server, access_token=lnsp_a.token)) == 4403


async def test_a_missing_or_forged_token_is_closed_with_4401(server: ServerProcess) -> None:
    """No token, a forged one, or a malformed Authorization header: closed with 4000 + 401."""
    assert await close_code_of(events_url(server)) == 4401
    assert await close_code_of(events_url(server, access_token="not.a.token")) == 4401
    assert await close_code_of(events_url(server), {"Authorization": "Bearer forged"}) == 4401
