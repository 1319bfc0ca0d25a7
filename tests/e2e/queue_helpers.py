"""Waiting for fire-and-forget delivery: a message reaches a queue shortly after its 200."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from exchange.functions.bpqd.sample import sample_body
from simulators.client import ParticipantClient, new_context_id, operator_client, register
from tests.e2e.read_side import close_all
from tests.harness import ServerProcess

# What a BPQD participant's client asks for: the function, and its certificates to sign with.
PQD_SCOPES = ["PQD_BPQD", "TLS_CERTIFICATE_MANAGEMENT"]

# A message ready to submit: its messageContextId, its body and the sender's signature over the body.
SignedMessage = tuple[str, bytes, str]


@asynccontextmanager
async def senders_and_recipients(
    operator_at: ServerProcess,
    prefix: str,
    senders_at: list[str],
    recipients_at: list[str],
    *,
    sender_scopes: list[str] | None = None,
) -> AsyncIterator[tuple[list[ParticipantClient], list[ParticipantClient]]]:
    """New MCs `<prefix>MC<i>` (with `sender_scopes`, PQD_SCOPES unless given) and LNSPs `<prefix>LN<i>`, each
    talking to the exchange at its base URL: logged in, the MCs enrolled (able to sign), while the block runs."""
    operator = await operator_client(operator_at.base_url, operator_at.operator_secret)
    try:
        senders = [
            ParticipantClient(url, await register(operator, f"{prefix}MC{i}", ["MC"], sender_scopes or PQD_SCOPES))
            for i, url in enumerate(senders_at)
        ]
        recipients = [
            ParticipantClient(url, await register(operator, f"{prefix}LN{i}", ["LNSP"], PQD_SCOPES))
            for i, url in enumerate(recipients_at)
        ]
    finally:
        await operator.close()
    for client in (*senders, *recipients):
        await client.login()
    for sender in senders:
        await sender.enrol()
    try:
        yield senders, recipients
    finally:
        await close_all(*senders, *recipients)


async def queued_ids(client: ParticipantClient, **params: Any) -> list[str]:
    """Every messageContextId in the client's BPQD queue, following the cursor through all pages."""
    ids: list[str] = []
    cursor = None
    while True:
        query = {"itemCount": 500, **params}
        if cursor:
            query["cursor"] = cursor
        response = await client.list_queue(**query)
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [item["messageContextId"] for item in page["data"]]
        cursor = page["meta"]["nextCursor"]
        if cursor is None:
            return ids


async def wait_for_queue(client: ParticipantClient, expected: int, within: float = 20.0) -> list[str]:
    """The queue's ids once it holds `expected` messages (or what it holds when the time is up)."""
    deadline = time.monotonic() + within
    while True:
        ids = await queued_ids(client)
        if len(ids) >= expected or time.monotonic() > deadline:
            return ids
        await asyncio.sleep(0.1)


async def settled_queues(marker: ParticipantClient, *recipients: ParticipantClient) -> list[list[str]]:
    """Each recipient's queue once the exchange has processed everything submitted before this call.

    `marker` (an enrolled MC) sends one more message to all of them now; the exchange queues messages in the
    order it recorded them, so once the marker is in every queue, anything submitted before it is there too, or
    never will be. The marker stays queued; it is left out of the ids returned. Waiting for a positive sign
    instead of a fixed time: a sleep passes wrongly on a loaded machine.
    """
    marker_id = await accepted_id(
        marker, sample_body(marker.participant_id, [recipient.participant_id for recipient in recipients], seed=7)
    )
    queues = []
    for recipient in recipients:
        deadline = time.monotonic() + 30.0
        while marker_id not in (ids := await queued_ids(recipient)):
            assert time.monotonic() < deadline, f"the marker {marker_id} never reached {recipient.participant_id}"
            await asyncio.sleep(0.1)
        queues.append([context_id for context_id in ids if context_id != marker_id])
    return queues


async def settled_queue(marker: ParticipantClient, recipient: ParticipantClient) -> list[str]:
    """The recipient's queue once everything submitted before this call is processed (see settled_queues)."""
    (queue,) = await settled_queues(marker, recipient)
    return queue


async def assert_each_accepted_message_queued_once(
    accepted: list[str], marker: ParticipantClient, recipients: list[ParticipantClient], within: float
) -> None:
    """After a fault under load, every accepted message reaches each recipient's queue once, within `within` s.

    Routes refused during the fault come back after their redelivery delay, so they may queue after the
    settling marker: keep looking until none is missing or the time is up.
    """
    started = time.monotonic()
    await settled_queues(marker, *recipients)
    for recipient in recipients:
        while True:
            ids = await queued_ids(recipient)
            missing = set(accepted) - set(ids)
            if not missing or time.monotonic() - started > within:
                break
            await asyncio.sleep(0.5)
        twice = [context_id for context_id, count in Counter(ids).items() if count > 1]
        assert twice == [], f"{recipient.participant_id} got {len(twice)} messages twice"
        assert missing == set(), f"{recipient.participant_id} lacks {len(missing)} of {len(accepted)} accepted"
    assert time.monotonic() - started < within


async def _load(
    senders: list[ParticipantClient], recipient_ids: list[str], accepted: list[str], stop: asyncio.Event
) -> None:
    async def send(sender: ParticipantClient, offset: int) -> None:
        seed = offset
        while not stop.is_set():
            seed += 1
            body = sample_body(sender.participant_id, recipient_ids, seed=seed)
            try:
                response = await asyncio.wait_for(sender.submit(body), timeout=10)
            except (httpx.HTTPError, TimeoutError):
                await asyncio.sleep(0.05)
                continue  # no answer, no promise
            assert response.status_code < 500 or response.status_code == 503, response.text
            if response.status_code == 200:
                accepted.append(response.json()["data"]["messageContextId"])

    await asyncio.gather(*(send(sender, 100_000 * (i + 1)) for i, sender in enumerate(senders)))


@asynccontextmanager
async def under_load(senders: list[ParticipantClient], recipients: list[ParticipantClient]) -> AsyncIterator[list[str]]:
    """The ids of the messages accepted while the block runs, each sender sending to every recipient as fast as
    it is answered; the load stops (and is awaited) when the block ends. A 5xx other than 503 fails the test."""
    accepted: list[str] = []
    stop = asyncio.Event()
    load = asyncio.create_task(_load(senders, [r.participant_id for r in recipients], accepted, stop))
    try:
        yield accepted
    finally:
        stop.set()
        await load


# Seeds for `submit_one`: each message it sends has other NMIs and ids than the last.
_seeds = iter(range(1, 1_000_000))


async def accepted_id(sender: ParticipantClient, body: bytes, priority: str = "Medium") -> str:
    """The messageContextId of `body`, which the exchange must accept (200): the first step of most journeys."""
    response = await sender.submit(body, priority=priority)
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["messageContextId"])


async def submit_one(mc: ParticipantClient, lnsp: ParticipantClient, priority: str = "Medium") -> str:
    """One accepted BPQD message from `mc` to `lnsp`; its messageContextId."""
    body = sample_body(mc.participant_id, [lnsp.participant_id], priority=priority, seed=next(_seeds))
    return await accepted_id(mc, body, priority)


async def flow_detail(client: ParticipantClient) -> dict[str, Any]:
    """The client's flow-control detail for BPQD (`pqd`)."""
    response = await client.http.get("/idx/v1/flowcontrol/businessFunctions/pqd", headers=client.headers())
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def signed_messages(mc: ParticipantClient, recipient_ids: list[str], seeds: range) -> list[SignedMessage]:
    """BPQD messages from `mc` to the recipients, one a seed, each with a fresh context id and signed already.

    Crash tests make them all before the first submission, so that only the submissions race with the crash.
    """
    made = []
    for seed in seeds:
        body = sample_body(mc.participant_id, recipient_ids, seed=seed)
        made.append((new_context_id("pqd", "bpqd", "Medium", mc.participant_id), body, mc.sign(body)))
    return made


async def accepted_across_a_crash(
    mc: ParticipantClient, prepared: list[SignedMessage], *, crash_after: int, crash: Callable[[], object], at_once: int
) -> list[str]:
    """Submits every prepared message, `at_once` at a time, calls `crash` once `crash_after` of them have ended,
    and returns the context ids that got a 200: the promises the exchange must keep after the crash.

    A submission whose connection died with the server has ended too, but it is no promise.
    """
    accepted: list[str] = []
    answered = 0
    enough_answered = asyncio.Event()
    gate = asyncio.Semaphore(at_once)

    async def submit(context_id: str, body: bytes, signature: str) -> None:
        nonlocal answered
        async with gate:
            try:
                response = await mc.submit(body, context_id=context_id, signature=signature)
            except httpx.HTTPError:
                return  # the connection died with the server: no 200, no promise
            finally:
                answered += 1
                if answered >= crash_after:
                    enough_answered.set()
        if response.status_code == 200:
            accepted.append(context_id)

    tasks = [asyncio.create_task(submit(*message)) for message in prepared]
    await enough_answered.wait()
    crash()
    await asyncio.gather(*tasks)
    return accepted
