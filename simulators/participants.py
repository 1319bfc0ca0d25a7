"""Simulated participants: MCs and MDPs that send signed BPQD, LNSPs that react to `messageAvailable` and list,
get, verify and delete, and generators that submit recall plans and bids. Public HTTP/WebSocket API only."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import websockets
from cryptography import x509
from websockets.asyncio.client import ClientConnection

from certs.chain import check_issued_by
from certs.receipts import is_hub_certificate, parse_receipt, verify_receipt
from certs.signature import verify_signature_header
from simulators.client import Credentials, ParticipantClient, new_context_id, operator_client, register
from simulators.figures import ONE_NMI, PayloadShape
from simulators.payloads import bpqd_body

T = TypeVar("T")

PARTICIPANT_SCOPES = [
    "PQD_BPQD",
    "TLS_CERTIFICATE_MANAGEMENT",
    "FCTRL_FCTRL",
    "FCTRL_STATUS",
    "TRANSLOG_TRANSLOG",
    "ARCH_RETRIEVE",
    "EVENT_NOTIFY",
]
GENERATOR_SCOPES = ["GR_RECALL", "BID_ENERGY", "TLS_CERTIFICATE_MANAGEMENT", "TRANSLOG_TRANSLOG"]


class NotServedError(Exception):
    """The exchange answered 404 for a route this simulator needs: that part is not served (yet)."""


class CheckFailedError(AssertionError):
    """A scenario's expectation did not hold."""


def check(condition: object, message: str) -> None:
    if not condition:
        raise CheckFailedError(message)


def expect_status(response: httpx.Response, status: int, what: str) -> httpx.Response:
    if response.status_code != status:
        raise CheckFailedError(f"{what}: expected {status}, got {response.status_code} {response.text[:300]}")
    return response


async def eventually(probe: Callable[[], Awaitable[T]], within: float = 20.0, every: float = 0.5) -> T:
    """The result of `probe` once it stops failing its checks (CheckFailedError, or any failed assertion of a
    test's probe), or its last failure when time is up.

    Polls slowly by default: the exchange rate-limits each endpoint per participant (default 50 a minute)."""
    deadline = time.monotonic() + within
    while True:
        try:
            return await probe()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(every)


@dataclass
class HubTrust:
    """The exchange CA, fetched once from `GET /certs/v1/hub`, to verify hub signatures and receipts."""

    ca: x509.Certificate

    @classmethod
    async def fetch(cls, base_url: str) -> HubTrust:
        async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as http:
            response = expect_status(await http.get("/certs/v1/hub"), 200, "GET /certs/v1/hub")
        return cls(x509.load_pem_x509_certificate(response.json()["data"]["caCertificate"].encode()))

    def verify_delivery(self, payload: bytes, headers: httpx.Headers, sender_id: str) -> None:
        """The hub's re-signature and the sender's original signature both cover exactly `payload`, the first
        by a hub certificate and the second by a certificate of the sender, both issued by the exchange CA."""
        now = datetime.now(UTC)
        hub = verify_signature_header(headers["x-signature"], payload)
        check_issued_by(hub, self.ca, now)
        check(is_hub_certificate(hub), "x-signature was not made by the hub")
        original = verify_signature_header(headers["x-original-signature"], payload)
        check_issued_by(original, self.ca, now)
        names = [str(a.value) for a in original.subject]
        check(any(name.startswith(sender_id) for name in names), f"x-original-signature is not {sender_id}'s")
        check(headers.get("x-initiatingParticipantId") == sender_id, "x-initiatingParticipantId is not the sender")

    def verify_receipt(self, answer: dict[str, Any], body: bytes) -> None:
        verify_receipt(parse_receipt(answer), self.ca, body)


class Cast:
    """Makes fresh participants through the admin API, so that scenarios never see each other's queues."""

    def __init__(self, base_url: str, operator: ParticipantClient, *, polite: bool = True) -> None:
        self.base_url = base_url
        self.operator = operator
        self.polite = polite
        self.clients: list[ParticipantClient] = []

    @classmethod
    async def open(cls, base_url: str, operator_secret: str) -> Cast:
        return cls(base_url, await operator_client(base_url, operator_secret))

    async def new(
        self, prefix: str, roles: list[str], scopes: list[str] | None = None, *, enrol: bool = True
    ) -> ParticipantClient:
        participant_id = f"{prefix}{secrets.token_hex(4).upper()}"[:10]
        credentials = await register(self.operator, participant_id, roles, scopes or PARTICIPANT_SCOPES)
        return await self.connect(credentials, enrol=enrol)

    async def connect(self, credentials: Credentials, *, enrol: bool = True) -> ParticipantClient:
        client = ParticipantClient(self.base_url, credentials, honour_retry_after=self.polite)
        self.clients.append(client)
        await client.login()
        if enrol:
            await client.enrol()
        return client

    async def set_watermarks(self, participant_id: str, low: int, warn: int, high: int, bf: str = "pqd") -> None:
        response = await self.operator.http.put(
            f"/admin/v1/participants/{participant_id}/flowcontrol/{bf}",
            json={"low": low, "warn": warn, "high": high},
            headers=self.operator.headers(),
        )
        expect_status(response, 200, f"PUT watermarks of {participant_id}")

    async def admin_post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """POST to an admin route; NotServedError when the exchange does not serve it."""
        response = await self.operator.http.post(path, json=body, headers=self.operator.headers())
        if response.status_code in (404, 405):
            raise NotServedError(f"POST {path} is not served")
        return response

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
        await self.operator.close()


@dataclass
class Sent:
    context_id: str
    body: bytes
    answer: dict[str, Any]
    priority: str
    sent_at: float


class Sender:
    """An MC or an MDP: builds realistic BPQD, signs it and submits it gzip-encoded."""

    def __init__(self, client: ParticipantClient) -> None:
        self.client = client
        self._seed = secrets.randbits(20) * 1000

    @property
    def participant_id(self) -> str:
        return self.client.participant_id

    def body(self, recipients: list[str], priority: str = "Medium", shape: PayloadShape = ONE_NMI,
             **options: Any) -> bytes:  # fmt: skip
        self._seed += 1
        return bpqd_body(self.participant_id, recipients, priority=priority, shape=shape, seed=self._seed, **options)

    async def send_body(self, body: bytes, priority: str) -> tuple[httpx.Response, str, float]:
        context_id = new_context_id("pqd", "bpqd", priority, self.participant_id)
        sent_at = time.time()
        response = await self.client.submit(body, priority=priority, context_id=context_id)
        return response, context_id, sent_at

    async def send(
        self, recipients: list[str], priority: str = "Medium", shape: PayloadShape = ONE_NMI, **options: Any
    ) -> Sent:
        """Submit one message; CheckFailedError unless it is accepted."""
        body = self.body(recipients, priority, shape, **options)
        response, context_id, sent_at = await self.send_body(body, priority)
        expect_status(response, 200, f"{self.participant_id} submitting {context_id}")
        return Sent(context_id, body, response.json(), priority, sent_at)


@dataclass
class Delivery:
    context_id: str
    sender_id: str
    priority: str
    payload: bytes
    received_at: float


@dataclass
class Notifications:
    """A participant's WebSocket of events, read in the background into a list anyone can wait on."""

    frames: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool], within: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + within
        seen = 0
        while True:
            for frame in self.frames[seen:]:
                if predicate(frame):
                    return frame
            seen = len(self.frames)
            self.arrived.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CheckFailedError(f"no matching event within {within}s ({len(self.frames)} frames seen)")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), remaining)

    def available(self) -> list[str]:
        return [f["messageContextId"] for f in self.frames if f.get("eventType") == "messageAvailable"]


@contextlib.asynccontextmanager
async def listening(client: ParticipantClient) -> AsyncIterator[Notifications]:
    """Hold the participant's `/idx/v1/events` WebSocket open for the block; frames land in the yielded object."""
    # since=0 replays from the first event: a fresh participant misses nothing sent while subscribing.
    url = client.base_url.replace("http://", "ws://").replace("https://", "wss://") + "/idx/v1/events?since=0"
    notifications = Notifications()
    async with websockets.connect(url, additional_headers=client.headers(), max_size=None) as socket:
        reader = asyncio.create_task(_read_frames(socket, notifications))
        try:
            yield notifications
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await reader


async def _read_frames(socket: ClientConnection, notifications: Notifications) -> None:
    async for message in socket:
        notifications.frames.append(json.loads(message))
        notifications.arrived.set()


class Lnsp:
    """A local network service provider: lists its queue, gets each message, verifies it and deletes it."""

    def __init__(self, client: ParticipantClient, trust: HubTrust) -> None:
        self.client = client
        self.trust = trust
        self.received: list[Delivery] = []
        self.late_reads: list[float] = []  # seconds a GET after messageAvailable kept answering 404

    @property
    def participant_id(self) -> str:
        return self.client.participant_id

    async def listed(self, **params: Any) -> list[dict[str, Any]]:
        """Every item of the BPQD queue, following the cursor."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            query: dict[str, Any] = {"itemCount": 500, **params}
            if cursor:
                query["cursor"] = cursor
            response = expect_status(await self.client.list_queue(**query), 200, "GET /pqd/v1/bpqd")
            page = response.json()
            items += page["data"]
            cursor = page["meta"]["nextCursor"]
            if cursor is None:
                return items

    async def take(self, context_id: str, sender_id: str, priority: str = "", *, announced: bool = False) -> Delivery:
        """Get, verify and delete one message (a signed delete once enrolled). When `announced` (its
        messageAvailable arrived), a 404 is read again for up to two seconds and the wait recorded in
        `late_reads`: the contract says it is queued."""
        fetched = await self.client.fetch(context_id)
        if fetched.status_code == 404 and announced:
            started = time.monotonic()
            while fetched.status_code == 404 and time.monotonic() - started < 2.0:
                await asyncio.sleep(0.01)
                fetched = await self.client.fetch(context_id)
            self.late_reads.append(time.monotonic() - started)
        expect_status(fetched, 200, f"GET {context_id}")
        self.trust.verify_delivery(fetched.content, fetched.headers, sender_id)
        # An enrolled LNSP signs its delete: the sender's acknowledgement that these exact bytes arrived.
        signature = self.client.acknowledge(context_id, fetched.content) if self.client.certificate else None
        expect_status(await self.client.delete(context_id, signature=signature), 204, f"DELETE {context_id}")
        delivery = Delivery(context_id, sender_id, priority, fetched.content, time.time())
        self.received.append(delivery)
        return delivery

    async def drain(self) -> int:
        """Take everything in the queue; how many were taken."""
        items = await self.listed()
        for item in items:
            await self.take(item["messageContextId"], item["initiatingParticipantId"], item["priority"])
        return len(items)

    async def react(self, notifications: Notifications, stop: asyncio.Event) -> None:
        """Take each message as its `messageAvailable` frame arrives, until `stop` is set."""
        done = 0
        while not stop.is_set() or done < len(notifications.frames):
            frames = notifications.frames[done:]
            done += len(frames)
            for frame in frames:
                if frame.get("eventType") == "messageAvailable":
                    await self.take(
                        frame["messageContextId"], frame["initiatingParticipantId"], frame["priority"], announced=True
                    )
            if not frames:
                notifications.arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(notifications.arrived.wait(), 0.2)


class Generator:
    """A generator: submits recall plans and energy bids for its DUID (when the exchange serves them)."""

    def __init__(self, client: ParticipantClient, duid: str) -> None:
        self.client = client
        self.duid = duid

    async def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        response = await self.client.http.post(path, json=body, headers=self.client.headers())
        if response.status_code in (404, 405):
            raise NotServedError(f"POST {path} is not served")
        return response

    async def submit_recall_plan(self, start: str, end: str, plan_id: str = "OP1") -> httpx.Response:
        entry = {
            "StartDate": start,
            "EndDate": end,
            "Stage1RecallMinutesStart": 30,
            "Stage1RecallMinutesEnd": 60,
            "Stage1MW": 100,
            "Stage1RecallFlag": "NRL",
            "Stage2RecallMinutesStart": 60,
            "Stage2RecallMinutesEnd": 240,
            "Stage2MW": 250,
            "Stage2RecallFlag": "NRL",
        }
        body = {
            "ParticipantId": self.client.participant_id,
            "OutagePlanId": plan_id,
            "OutagePlanDescription": "Planned maintenance (simulated)",
            "DUID": self.duid,
            "RecallPlanEntries": [entry],
        }
        return await self._post("/ws/GeneratorRecall/1.0/submitRecallPlan", body)

    async def list_recall_plans(self) -> httpx.Response:
        return await self._post(
            "/ws/GeneratorRecall/1.0/listRecallPlans", {"ParticipantId": self.client.participant_id}
        )

    async def submit_bids(self, trading_date: str, reference_id: str, max_avail: float = 200.0) -> httpx.Response:
        prices = [-1000.0, 0.0, 25.0, 50.0, 80.0, 120.0, 300.0, 1000.0, 5000.0, 16600.0]
        band = [max_avail / 10] * 10
        periods = [
            {"periodId": period, "maxAvail": max_avail, "bandAvail": band, "rampUpRate": 300, "rampDownRate": 300}
            for period in range(1, 289)
        ]
        bid = {"tradingDate": trading_date, "duid": self.duid, "direction": "GEN", "prices": prices,
               "energyPeriods": periods}  # fmt: skip
        body = {"referenceId": reference_id, "comments": "simulated", "energyBids": [bid]}
        return await self._post("/bids/v1/submitBids", body)
