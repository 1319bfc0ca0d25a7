"""Bad input at the HTTP edge of a running `idx serve`: JSON too deep or with a key twice, gzip of countless
members, oversized or half-sent headers, and a malformed `since` on the WebSocket. Each gets a clear 4xx (or close
code), never a 5xx, and the exchange keeps answering others meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import socket
import time

import httpx
import msgspec
import pytest
import websockets

from exchange.functions.bpqd.sample import sample_envelope
from exchange.http.limits import HEAD_TIMEOUT
from simulators.client import ParticipantClient
from tests.e2e.conftest import Participants
from tests.e2e.queue_helpers import settled_queue
from tests.e2e.read_side import close_code_of, new_participant
from tests.e2e.test_bad_input import submit_headers
from tests.harness import ServerProcess
from tests.problems import assert_problem

pytestmark = pytest.mark.e2e

DEEP = b'{"a":' * 1000 + b"1" + b"}" * 1000
PQD = "/pqd/v1/bpqd"


async def test_json_nested_1000_deep_is_a_400_on_every_kind_of_json_route(
    participants: Participants, operator: ParticipantClient
) -> None:
    """Litestar's own `data`, a plugin's operation and the admin routes all answer 400 to JSON 1,000 deep."""
    mc = await participants.new("MC", ["MC"])
    routes = [
        (operator, "POST", "/admin/v1/participants"),
        (operator, "POST", "/admin/v1/outages"),
        (operator, "PUT", f"/admin/v1/participants/{mc.participant_id}/flowcontrol/pqd"),
        (operator, "POST", "/ws/GeneratorRecall/1.0/getRecallFlags"),
        (mc, "POST", "/certs/v1/certificates"),
        (mc, "PUT", "/certs/v1/nominations"),
    ]
    for client, method, path in routes:
        headers = {**client.headers(), "Content-Type": "application/json"}
        response = await client.http.request(method, path, content=DEEP, headers=headers)
        assert_problem(response, 400), (method, path)


async def test_a_submission_nested_1000_deep_is_a_400(participants: Participants) -> None:
    """POST /pqd/v1/bpqd of a signed body 1,000 deep, also where the refusal path looks for recipients: 400."""
    mc = await participants.new("MC", ["MC"])
    for body in (DEEP, b'{"data":{"header":{"receivingParticipantId":' + b"[" * 1000 + b"]" * 1000 + b"}}}"):
        response = await mc.http.post(PQD, content=body, headers=submit_headers(mc, body))
        assert_problem(response, 400)


async def test_a_submission_with_two_data_keys_is_refused_and_delivers_nothing(participants: Participants) -> None:
    """A signed envelope with a second `data` key (that names another recipient) is a 400, not routed by either."""
    mc = await participants.new("MC", ["MC"])
    first = await participants.new("LN", ["LNSP"], enrol=False)
    second = await participants.new("LN", ["LNSP"], enrol=False)
    one = msgspec.json.encode(sample_envelope(mc.participant_id, [first.participant_id])["data"])
    other = msgspec.json.encode(sample_envelope(mc.participant_id, [second.participant_id])["data"])
    body = b'{"data":' + one + b',"data":' + other + b"}"

    response = await mc.http.post(PQD, content=body, headers=submit_headers(mc, body))

    problem = assert_problem(response, 400)
    assert "'data'" in problem["detail"], problem
    assert await settled_queue(mc, first) == []
    assert await settled_queue(mc, second) == []


async def test_an_admin_body_with_a_key_twice_is_refused(operator: ParticipantClient) -> None:
    """POST /admin/v1/outages with `detail` twice is a 400, and no outage is announced."""
    body = b'{"detail": "first", "detail": "second"}'
    headers = {**operator.headers(), "Content-Type": "application/json"}
    response = await operator.http.post("/admin/v1/outages", content=body, headers=headers)
    assert_problem(response, 400)


async def test_2_mb_of_empty_gzip_members_is_refused_quickly_while_healthz_answers(
    server: ServerProcess, participants: Participants
) -> None:
    """100,000 empty gzip members: refused within 3 s, and /healthz answers within 1 s all the while."""
    mc = await participants.new("MC", ["MC"])
    members = gzip.compress(b"", mtime=0) * 100_000
    assert len(members) == 2_000_000
    headers = {**submit_headers(mc, b"{}"), "Content-Encoding": "gzip"}
    answered = asyncio.Event()

    async def health_times() -> list[float]:
        """/healthz asked again and again, each as soon as the last is answered, until the upload is answered."""
        times = []
        async with httpx.AsyncClient(base_url=server.base_url) as other:
            while not answered.is_set():
                started = time.monotonic()
                assert (await other.get("/healthz", timeout=5.0)).status_code == 200
                times.append(time.monotonic() - started)
        return times

    started = time.monotonic()
    health = asyncio.create_task(health_times())
    response = await mc.http.post(PQD, content=members, headers=headers, timeout=30.0)
    elapsed = time.monotonic() - started
    answered.set()

    assert_problem(response, 413)
    assert elapsed < 3.0, elapsed
    times = await health
    assert times, "no /healthz answer came while the upload was being refused"
    assert max(times) < 1.0, times


def raw_request(server: ServerProcess, head: bytes, *, timeout: float = 10.0) -> bytes:
    """Send `head` on a fresh socket and read until the server closes it (or `timeout`)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        # Refused while sending: the answer is still there to read.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except (ConnectionResetError, TimeoutError):
            pass
        return answer


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        (b"x-big: " + b"a" * 1_000_000 + b"\r\n", "one header of 1 MB"),
        (b"x-big: " + b"a" * (16 * 1024) + b"\r\n", "one header just over 16 KiB"),
        (b"".join(b"x-h%d: %s\r\n" % (i, b"a" * 10_000) for i in range(8)), "eight headers of 10 KB"),
    ],
    ids=["1 MB", "16 KiB + 7", "80 KB in all"],
)
def test_oversized_headers_are_refused_with_431(server: ServerProcess, headers: bytes, why: str) -> None:
    """A header over 16 KiB, or headers over 64 KiB in all, get 431 problem details and never reach a route."""
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n"
    answer = raw_request(server, head)
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 431 Request Header Fields Too Large", (why, answer[:200])
    assert b"application/problem+json" in rest
    assert b"/problems/headers-too-large" in rest


def test_headers_within_the_limits_are_served(server: ServerProcess) -> None:
    """Headers of 60 KB in all, each under 16 KiB, reach the route."""
    headers = b"".join(b"x-h%d: %s\r\n" % (i, b"a" * 15_000) for i in range(4))
    answer = raw_request(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


def test_a_half_sent_request_is_closed_after_the_head_timeout(server: ServerProcess) -> None:
    """Headers that never end get 408 and a closed connection once the head timeout passes, not 45 s and more."""
    started = time.monotonic()
    answer = raw_request(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nx-slow: a", timeout=HEAD_TIMEOUT + 10)
    elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert HEAD_TIMEOUT - 1 < elapsed < HEAD_TIMEOUT + 5, elapsed


async def test_a_websocket_since_that_is_not_a_number_is_closed_with_4400(
    server: ServerProcess, operator: ParticipantClient
) -> None:
    """`?since=abc` is a malformed request: close code 4400, not a refused (403) handshake; `since=0` is served."""
    lnsp = await new_participant(server, operator, "LN", ["LNSP"])
    url = server.base_url.replace("http://", "ws://") + "/idx/v1/events"
    try:
        for bad in ("abc", "1.5", "1_0"):
            assert await close_code_of(f"{url}?since={bad}", lnsp.headers()) == 4400, bad
        async with websockets.connect(f"{url}?since=0&ready=true", additional_headers=lnsp.headers()) as good:
            assert json.loads(await asyncio.wait_for(good.recv(), 5.0)) == {"eventType": "subscribed", "since": 0}
    finally:
        await lnsp.close()
