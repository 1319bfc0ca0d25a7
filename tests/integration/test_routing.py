"""From the ledger through JetStream into the queues, with the exchange built for real by `start_exchange`."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import msgspec
import nats
import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from nats.js.api import StorageType

from exchange.bootstrap import OPERATOR_CLIENT, Exchange, start_exchange
from exchange.domain.messages import Delivery, Message
from exchange.domain.participants import Client
from exchange.domain.topics import topic_of
from exchange.eventstore.ledger import Ledger
from exchange.messaging.natsserver import EmbeddedNatsServer
from exchange.messaging.routing import DURABLE, QUEUE_RETENTION_SECONDS, STREAM, SUBJECT_PREFIX, Route
from exchange.settings import Settings
from tests.integration.conftest import BF, RESOURCE, make_message

RECIPIENTS = ["LNSP1", "LNSP2"]
STOP_WITHIN = 15


@asynccontextmanager
async def running_exchange(data_dir: Path) -> AsyncIterator[Exchange]:
    """The whole exchange (embedded nats-server on a free port, SQLite files) on `data_dir`, stopped afterwards."""
    exchange = await start_exchange(Settings(data_dir=data_dir))
    try:
        yield exchange
    finally:
        await _stop(exchange)


async def _stop(exchange: Exchange) -> None:
    """Stop the exchange; a stop that hangs fails the test instead of the whole run (see test_projector.py)."""
    try:
        async with asyncio.timeout(STOP_WITHIN):
            await exchange.stop()
    except TimeoutError:
        if exchange.nats_server is not None:
            await asyncio.to_thread(exchange.nats_server.stop)
        pytest.fail(f"Exchange.stop() did not return within {STOP_WITHIN} s")


async def _register_participants(exchange: Exchange) -> None:
    await exchange.admin.register_participant("MDP1", "Meter data provider", ["MDP"])
    for recipient in RECIPIENTS:
        await exchange.admin.register_participant(recipient, f"Network {recipient}", ["LNSP"])


async def _submit(exchange: Exchange, context_id: str, recipients: list[str] = RECIPIENTS) -> int:
    """Record a message as the submission use case does and tell the followers; its position in the log."""
    [recording] = await exchange.committer.save(make_message(context_id, recipients))
    for projector in exchange.projectors.values():
        projector.poke()
    return recording.notification.id


async def _eventually(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"not true within {within} s: {check.__doc__}")
        await asyncio.sleep(0.05)


async def _queue_rows(exchange: Exchange) -> list[tuple[str, str]]:
    async with exchange.views.execute(
        "SELECT message_context_id, recipient FROM queue_items ORDER BY message_context_id, recipient"
    ) as cursor:
        return [(row[0], row[1]) for row in await cursor.fetchall()]


async def _recorded_deliveries(exchange: Exchange) -> list[tuple[str, str]]:
    """(message, recipient) of every Delivery.Queued event in the ledger, duplicates included."""
    notifications = await asyncio.to_thread(exchange.ledger.notifications, 0, 100_000, (topic_of(Delivery, "Queued"),))
    events = [exchange.ledger.decode(n) for n in notifications]
    return sorted((e.message_context_id, e.recipient) for e in events)


async def _settle(exchange: Exchange, recipients: list[str] = RECIPIENTS) -> str:
    """Wait until the deliverer has handled every route published so far; the marker message's context id.

    A marker message recorded now is routed after them, and the deliverer takes routes in order, so once the
    marker is queued for every recipient nothing earlier is still on its way: a positive sign, not a pause.
    """
    marker = f"zz-marker-{time.monotonic_ns()}"
    await _submit(exchange, marker, recipients)
    await _eventually(_queued_all(exchange, [(marker, recipient) for recipient in recipients]))
    return marker


def _without(marker: str, rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [row for row in rows if row[0] != marker]


def _queued_all(exchange: Exchange, expected: list[tuple[str, str]]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        """every expected (message, recipient) is a queue row"""
        return set(expected) <= set(await _queue_rows(exchange))

    return check


def _pairs(context_ids: list[str], recipients: list[str] = RECIPIENTS) -> list[tuple[str, str]]:
    return sorted((c, r) for c in context_ids for r in recipients)


async def test_message_with_two_recipients_ends_as_one_delivery_each(tmp_path: Path) -> None:
    """A recorded message is routed through JetStream into exactly one Delivery and one queue row per recipient."""
    async with running_exchange(tmp_path / "data") as exchange:
        await _register_participants(exchange)
        await _submit(exchange, "ctx-1")
        await _eventually(_queued_all(exchange, _pairs(["ctx-1"])))
        marker = await _settle(exchange)  # any duplicate would have arrived before it

        assert _without(marker, await _queue_rows(exchange)) == _pairs(["ctx-1"])
        assert _without(marker, await _recorded_deliveries(exchange)) == _pairs(["ctx-1"])
        for recipient in RECIPIENTS:
            delivery = exchange.ledger.find(Delivery, Delivery.create_id("ctx-1", recipient))
            assert delivery is not None
            assert delivery.in_queue
            assert (delivery.business_function_id, delivery.resource_id) == (BF, RESOURCE)
            assert delivery.size == len(make_message("ctx-1", RECIPIENTS).payload)
        info = await exchange.js.stream_info(STREAM)
        assert info.state.messages == 2 + 2  # ctx-1's routes and the marker's


async def test_replaying_the_relay_from_zero_yields_no_second_delivery(tmp_path: Path) -> None:
    """Resetting the relay's tracked position and restarting republishes, yet each (message, recipient) stays once."""
    data_dir = tmp_path / "data"
    contexts = ["ctx-a", "ctx-b", "ctx-c"]
    async with running_exchange(data_dir) as exchange:
        await _register_participants(exchange)
        for context_id in contexts:
            await _submit(exchange, context_id)
        await _eventually(_queued_all(exchange, _pairs(contexts)))
        stored_before = (await exchange.js.stream_info(STREAM)).state.messages
    assert stored_before == 6

    with sqlite3.connect(data_dir / "views.sqlite") as views:
        views.execute("UPDATE tracking SET position = 0 WHERE name = 'relay'")
        assert views.execute("SELECT position FROM tracking WHERE name = 'relay'").fetchone() == (0,)
    views.close()

    async with running_exchange(data_dir) as exchange:
        relay = exchange.projectors["relay"]
        await relay.wait_for(exchange.ledger.last_position())
        # The republished routes carry the same Nats-Msg-Id, so JetStream stores none of them again.
        assert (await exchange.js.stream_info(STREAM)).state.messages == stored_before
        marker = await _settle(exchange)
        assert _without(marker, await _queue_rows(exchange)) == _pairs(contexts)
        assert _without(marker, await _recorded_deliveries(exchange)) == _pairs(contexts)

        await _submit(exchange, "ctx-after")
        await _eventually(_queued_all(exchange, _pairs(["ctx-after"])))
        assert _without(marker, await _recorded_deliveries(exchange)) == _pairs([*contexts, "ctx-after"])


def _route(context_id: str, position: int) -> Route:
    """A route for LNSP1 as the relay would publish it."""
    return Route(
        message_context_id=context_id,
        recipient="LNSP1",
        business_function_id=BF,
        resource_id=RESOURCE,
        sender_id="MDP1",
        priority="Medium",
        message_type="BPQD",
        size=12,
        submitted_at=make_message(context_id, ["LNSP1"]).received_at,
        position=position,
    )


def _record_while_down(data_dir: Path, context_id: str) -> int:
    """Record a message (for LNSP1) with the exchange down; its position. The deliverer checks routes against it."""
    ledger = Ledger.open_sqlite(data_dir / "events.sqlite")
    try:
        [recording] = ledger.save(make_message(context_id, ["LNSP1"]))
        return recording.notification.id
    finally:
        ledger.close()


async def _leave_routes_waiting(data_dir: Path, routes: list[tuple[Route, str]]) -> None:
    """With the exchange down, put routes (each with its Nats-Msg-Id) into its delivery stream.

    The next start's deliverer then finds them all waiting and takes them in one fetch.
    """
    server = EmbeddedNatsServer(data_dir / "nats")
    await asyncio.to_thread(server.start)
    try:
        nc = await nats.connect(server.url)
        try:
            js = nc.jetstream()
            for route, msg_id in routes:
                ack = await js.publish(
                    f"{SUBJECT_PREFIX}.{route.recipient}.{BF}.{RESOURCE}",
                    msgspec.json.encode(route),
                    headers={"Nats-Msg-Id": msg_id},
                )
                assert not ack.duplicate
        finally:
            await nc.close()
    finally:
        await asyncio.to_thread(server.stop)


async def test_route_replayed_past_the_dedupe_window_neither_duplicates_nor_loses_others(tmp_path: Path) -> None:
    """A route JetStream does not dedupe (new msg id) adds no delivery, and a new route fetched with it is queued."""
    data_dir = tmp_path / "data"
    async with running_exchange(data_dir) as exchange:
        await _register_participants(exchange)
        position = await _submit(exchange, "ctx-old", ["LNSP1"])
        await _eventually(_queued_all(exchange, [("ctx-old", "LNSP1")]))

    await _leave_routes_waiting(
        data_dir,
        [
            (_route("ctx-old", position), "ctx-old|LNSP1|after-the-window"),
            (_route("ctx-new", _record_while_down(data_dir, "ctx-new")), "new"),
        ],
    )

    async with running_exchange(data_dir) as exchange:
        await _eventually(_queued_all(exchange, [("ctx-new", "LNSP1")]), within=8.0)
        marker = await _settle(exchange, ["LNSP1"])
        assert _without(marker, await _recorded_deliveries(exchange)) == [("ctx-new", "LNSP1"), ("ctx-old", "LNSP1")]
        assert _without(marker, await _queue_rows(exchange)) == [("ctx-new", "LNSP1"), ("ctx-old", "LNSP1")]


async def test_two_copies_of_a_new_route_in_one_fetch_make_one_delivery(tmp_path: Path) -> None:
    """A first-time route that arrives twice in one batch (republished past the dedupe window) is queued once."""
    data_dir = tmp_path / "data"
    async with running_exchange(data_dir) as exchange:
        await _register_participants(exchange)

    position = _record_while_down(data_dir, "ctx-twice")
    await _leave_routes_waiting(
        data_dir,
        [(_route("ctx-twice", position), "ctx-twice|LNSP1"), (_route("ctx-twice", position), "ctx-twice|LNSP1|again")],
    )

    async with running_exchange(data_dir) as exchange:
        await _eventually(_queued_all(exchange, [("ctx-twice", "LNSP1")]), within=8.0)
        marker = await _settle(exchange, ["LNSP1"])
        assert _without(marker, await _recorded_deliveries(exchange)) == [("ctx-twice", "LNSP1")]


async def test_stopped_deliverer_lets_the_exchange_stop_promptly(tmp_path: Path) -> None:
    """Stopping the deliverer releases its pull subscription, so the NATS connection still drains at once later."""
    exchange = await start_exchange(Settings(data_dir=tmp_path / "data"))

    async def pull_requests_waiting() -> int:
        return int((await exchange.js.consumer_info(STREAM, DURABLE)).num_waiting or 0)

    async def in_a_lingering_fetch() -> bool:
        """the deliverer has a pull request waiting at the server (one that expires after 1 s)"""
        return await pull_requests_waiting() > 0

    async def fetch_answered() -> bool:
        """the server has answered (expired) the cancelled fetch's pull request"""
        return await pull_requests_waiting() == 0

    try:
        await _eventually(in_a_lingering_fetch)
        await exchange.deliverer.stop()
        await _eventually(fetch_answered)
        # A stuck drain would wait 30 s by default; 3 s bounds the cost of this test failing.
        exchange.nc.options["drain_timeout"] = 3
    finally:
        started = time.monotonic()
        await _stop(exchange)
        took = time.monotonic() - started
    assert took < 2.0, f"stop() took {took:.1f} s: the connection did not drain"


async def test_delivery_stream_keeps_routes_ten_days_on_file(tmp_path: Path) -> None:
    """The JetStream stream IDX_DELIVERY exists with file storage, a 10-day max age and the delivery subjects."""
    async with running_exchange(tmp_path / "data") as exchange:
        config = (await exchange.js.stream_info(STREAM)).config
    assert config.storage == StorageType.FILE
    assert config.max_age == QUEUE_RETENTION_SECONDS == 10 * 24 * 3600
    assert config.subjects == [f"{SUBJECT_PREFIX}.>"]


async def test_restart_on_the_same_data_dir_keeps_operator_client_and_ca(tmp_path: Path) -> None:
    """A second start on the same data directory reuses the CA, the operator's client and its secret."""
    data_dir = tmp_path / "data"
    async with running_exchange(data_dir) as first:
        ca_pem = first.authority.ca_certificate.public_bytes(Encoding.PEM)
        secret = (data_dir / "operator.secret").read_text().strip()
        await first.admin.token(OPERATOR_CLIENT, secret, None)
        await _submit(first, "before-restart", ["LNSP1"])
        nats_port = first.nats_server.port if first.nats_server else None

    async with running_exchange(data_dir) as second:
        assert second.authority.ca_certificate.public_bytes(Encoding.PEM) == ca_pem
        assert (data_dir / "pki" / "ca.pem").read_bytes() == ca_pem
        assert (data_dir / "operator.secret").read_text().strip() == secret
        issued = await second.admin.token(OPERATOR_CLIENT, secret, None)
        assert second.tokens.verify(issued.access_token, second.clock.now()).participant_id == "OPERATOR"
        clients = await asyncio.to_thread(second.ledger.notifications, 0, 1000, (topic_of(Client, "Registered"),))
        assert len(clients) == 1
        assert second.ledger.find(Message, Message.create_id("before-restart")) is not None
        assert second.nats_server is not None
        assert second.nats_server.port != nats_port or nats_port is None
