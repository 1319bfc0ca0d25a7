"""`idx serve --workers 2` on SQLite, from outside: two processes answer on one port, deliver each message once,
share rate limits, sign-outs and idempotency, and live and die with their parent.

Queues are awaited until they hold what was sent, not settled with a marker message: the workers' deliverers
take routes from JetStream side by side, so a later message may be queued before an earlier one (the list is
still ordered by submission).

Every request of these tests opens a connection of its own (`Connection: close`), so that the kernel spreads them
over the workers (SO_REUSEPORT); each answer names its worker in `x-idx-worker`.

Until leased followers land, every follower of the log runs in every worker; none of these tests needs leases.
Queueing and announcing exactly once hold without them: the deliverers share one JetStream consumer, the event
store refuses a second delivery of a message, and each handler skips, within its write transaction, what another
process recorded already.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from exchange.cli.workers import WORKER_HEADER
from exchange.functions.bpqd.sample import sample_body
from exchange.kernel.network import free_port
from simulators.client import ParticipantClient, new_context_id, operator_client, register
from tests.e2e.queue_helpers import PQD_SCOPES, accepted_across_a_crash, queued_ids, signed_messages, wait_for_queue
from tests.e2e.read_side import eventually
from tests.e2e.test_events import assert_next_is_a_marker, listening, next_frame
from tests.harness import ServerProcess
from tests.problems import assert_problem

WORKERS = ("--workers", "2")
EVENT_SCOPES = [*PQD_SCOPES, "EVENT_NOTIFY"]


def start(data_dir: Path, *args: str) -> ServerProcess:
    server = ServerProcess(data_dir, extra_args=(*WORKERS, *args))
    server.start(timeout=180.0)  # a parent, then two workers one after the other, on a machine others share
    return server


@pytest.fixture(scope="module")
def workers_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start(tmp_path_factory.mktemp("workers") / "data", "--rate-limit", "0")
    try:
        wait_for_workers(server, 2)
        yield server
    finally:
        server.stop()


def children(pid: int) -> list[int]:
    """The processes `pid` started that still run (Linux: /proc/PID/task/*/children)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def worker_pids(server: ServerProcess) -> set[int]:
    assert server.process is not None
    pids = set()
    for child in children(server.process.pid):
        with contextlib.suppress(OSError):
            if b"exchange.cli.workers" in Path(f"/proc/{child}/cmdline").read_bytes():
                pids.add(child)
    return pids


def wait_for_workers(
    server: ServerProcess, count: int, other_than: frozenset[int] = frozenset(), within: float = 120.0
) -> set[int]:
    """The worker pids once `count` of them run (none of `other_than`) and each answers on the port."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        pids = worker_pids(server)
        if len(pids) == count and not pids & other_than and pids <= answering_pids(server, tries=40):
            return pids
        time.sleep(0.2)
    raise AssertionError(f"{count} workers did not run within {within}s:\n{server.log_tail()}")


def answering_pids(server: ServerProcess, tries: int) -> set[int]:
    """The workers that answered `tries` requests, each on a new connection."""
    pids = set()
    for _ in range(tries):
        with contextlib.suppress(httpx.HTTPError):
            response = httpx.get(f"{server.base_url}/healthz", headers={"Connection": "close"}, timeout=10.0)
            pids.add(int(response.headers[WORKER_HEADER]))
    return pids


def wait_gone(pids: set[int], within: float) -> set[int]:
    """Those of `pids` still running after `within` seconds (at best none, at once)."""
    deadline = time.monotonic() + within
    while True:
        alive = {pid for pid in pids if _alive(pid)}
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; only its parent has not read its status yet


def nats_pid(server: ServerProcess) -> int:
    return int((server.data_dir / "nats" / "nats.pid").read_text().strip())


async def participant(
    server: ServerProcess, operator: ParticipantClient, name: str, roles: list[str]
) -> ParticipantClient:
    """A logged-in client of a new participant whose every request opens a new connection."""
    client = ParticipantClient(server.base_url, await register(operator, name, roles, EVENT_SCOPES))
    client.http.headers["Connection"] = "close"
    await client.login()
    return client


@contextlib.asynccontextmanager
async def mc_and_lnsp(server: ServerProcess, prefix: str) -> AsyncIterator[tuple[ParticipantClient, ParticipantClient]]:
    operator = await operator_client(server.base_url, server.operator_secret)
    mc = await participant(server, operator, f"{prefix}MC", ["MC"])
    lnsp = await participant(server, operator, f"{prefix}LN", ["LNSP"])
    await operator.close()
    await mc.enrol()
    try:
        yield mc, lnsp
    finally:
        await mc.close()
        await lnsp.close()


async def test_both_workers_answer_on_the_one_port(workers_server: ServerProcess) -> None:
    """Over many new connections, the two worker processes (children of idx serve) both answer."""
    assert answering_pids(workers_server, tries=60) == worker_pids(workers_server)
    assert len(worker_pids(workers_server)) == 2


async def test_a_message_is_listed_fetched_and_deleted_through_whichever_worker_and_queued_once(
    workers_server: ServerProcess,
) -> None:
    async with mc_and_lnsp(workers_server, "WKA") as (mc, lnsp):
        body = sample_body(mc.participant_id, [lnsp.participant_id], seed=11)
        sent = await mc.submit(body, compress=False)
        assert sent.status_code == 200, sent.text
        context_id = sent.json()["data"]["messageContextId"]

        queue = await wait_for_queue(lnsp, 1, within=30)
        assert queue == [context_id], queue
        fetched = [await lnsp.fetch(context_id, gzip_ok=False) for _ in range(6)]
        assert all(f.status_code == 200 and f.content == body for f in fetched)
        assert len({f.headers[WORKER_HEADER] for f in fetched}) >= 1
        deleted = await lnsp.delete(context_id)
        assert deleted.status_code in (200, 204), deleted.text
        assert context_id not in await queued_ids(lnsp)


async def submit_through_both(mc: ParticipantClient, lnsp: ParticipantClient, count: int, seed: int) -> list[str]:
    """`count` messages from `mc` to `lnsp`, each on a new connection; asserts that both workers accepted some."""
    answered_by: set[str] = set()
    sent = []
    for offset in range(count):
        body = sample_body(mc.participant_id, [lnsp.participant_id], seed=seed + offset)
        response = await mc.submit(body)
        assert response.status_code == 200, response.text
        answered_by.add(response.headers[WORKER_HEADER])
        sent.append(response.json()["data"]["messageContextId"])
    assert len(answered_by) == 2, "every submission went to one worker: the test proves nothing"
    return sent


async def test_messages_accepted_by_both_workers_are_each_queued_exactly_once(workers_server: ServerProcess) -> None:
    async with mc_and_lnsp(workers_server, "WKB") as (mc, lnsp):
        sent = await submit_through_both(mc, lnsp, 20, seed=100)
        queue = await wait_for_queue(lnsp, len(sent), within=30)
        assert not [i for i, n in Counter(queue).items() if n > 1], "a message was queued twice"
        assert set(sent) <= set(queue)


async def test_messages_accepted_by_both_workers_are_each_announced_exactly_once(
    workers_server: ServerProcess,
) -> None:
    """The recipient's socket, held by one worker, gets one frame per message, sequences rising by one."""
    async with mc_and_lnsp(workers_server, "WKN") as (mc, lnsp), listening(workers_server, lnsp) as socket:
        sent = await submit_through_both(mc, lnsp, 20, seed=200)
        frames = [await next_frame(socket, within=30.0) for _ in sent]
        await assert_next_is_a_marker(socket, mc, lnsp, sequence=len(sent) + 1)
    assert [frame["sequence"] for frame in frames] == list(range(1, len(sent) + 1))
    assert sorted(frame["messageContextId"] for frame in frames) == sorted(sent)


async def test_a_resubmission_through_the_other_worker_gets_the_same_receipt(workers_server: ServerProcess) -> None:
    """Idempotency holds across processes: the worker that did not accept the message answers it the same."""
    async with mc_and_lnsp(workers_server, "WKC") as (mc, lnsp):
        body = sample_body(mc.participant_id, [lnsp.participant_id], seed=21)
        context_id = new_context_id("pqd", "bpqd", "Medium", mc.participant_id)
        signature = mc.sign(body)
        first = await mc.submit(body, context_id=context_id, signature=signature)
        assert first.status_code == 200, first.text
        answered_by = {first.headers[WORKER_HEADER]}
        for _ in range(30):
            again = await mc.submit(body, context_id=context_id, signature=signature)
            assert again.status_code == 200, again.text
            assert again.json() == first.json()
            answered_by.add(again.headers[WORKER_HEADER])
            if len(answered_by) == 2:
                break
        assert len(answered_by) == 2, "no resubmission reached the other worker"
        changed = sample_body(mc.participant_id, [lnsp.participant_id], seed=22)
        conflicts = [await mc.submit(changed, context_id=context_id) for _ in range(6)]
        for conflict in conflicts:
            assert_problem(conflict, 409)
        assert await wait_for_queue(lnsp, 1, within=30) == [context_id]


async def test_a_revoked_clients_token_is_refused_by_every_worker_within_a_second(
    workers_server: ServerProcess,
) -> None:
    """Revocation is committed by one worker; the other takes it into its cache within its refresh interval."""
    operator = await operator_client(workers_server.base_url, workers_server.operator_secret)
    operator.http.headers["Connection"] = "close"
    try:
        reader = await participant(workers_server, operator, "WKDLN", ["LNSP"])
        assert (await reader.list_queue()).status_code == 200
        revoked = await operator.http.delete(
            f"/admin/v1/participants/WKDLN/clients/{reader.credentials.client_id}", headers=operator.headers()
        )
        assert revoked.status_code == 204, revoked.text

        async def refused_by_both() -> None:
            answers = [await reader.list_queue() for _ in range(20)]
            assert {a.status_code for a in answers} == {401}
            assert len({a.headers[WORKER_HEADER] for a in answers}) == 2

        # Each worker takes in what the others changed every half second; a loaded machine gets some slack.
        await eventually(refused_by_both, within=3.0)
        await reader.close()
    finally:
        await operator.close()


async def test_a_web_sign_out_through_one_worker_ends_the_token_in_both(workers_server: ServerProcess) -> None:
    operator = await operator_client(workers_server.base_url, workers_server.operator_secret)
    credentials = await register(operator, "WKSMC", ["MC"], PQD_SCOPES)
    await operator.close()
    fresh = {"Connection": "close"}
    async with httpx.AsyncClient(base_url=workers_server.base_url, headers=fresh, timeout=30.0) as browser:
        signed_in = await browser.post(
            "/app/sign-in", data={"client_id": credentials.client_id, "client_secret": credentials.client_secret}
        )
        assert signed_in.status_code == 303, signed_in.text
        bearer = {"Authorization": f"Bearer {browser.cookies['idx_session']}"}
        assert (await browser.get("/pqd/v1/bpqd", headers=bearer)).status_code == 200
        signed_out = await browser.post("/app/sign-out")
        assert signed_out.status_code == 303, signed_out.text

        async def refused_by_both() -> None:
            answers = [await browser.get("/pqd/v1/bpqd", headers=bearer) for _ in range(20)]
            assert {a.status_code for a in answers} == {401}
            assert len({a.headers[WORKER_HEADER] for a in answers}) == 2
            assert_problem(answers[0], 401)

        await eventually(refused_by_both, within=3.0)


async def test_wrong_secrets_spread_over_both_workers_lock_the_client_id_out(workers_server: ServerProcess) -> None:
    """Ten wrong secrets, whichever worker checks each, and the right one gets 429 from either."""
    operator = await operator_client(workers_server.base_url, workers_server.operator_secret)
    credentials = await register(operator, "WKFMC", ["MC"], PQD_SCOPES)
    await operator.close()
    async with httpx.AsyncClient(base_url=workers_server.base_url, headers={"Connection": "close"}) as http:
        checked_by = set()
        for attempt in range(10):
            wrong = await http.post(
                "/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": credentials.client_id,
                    "client_secret": f"guess-{attempt}",
                },
            )
            assert wrong.status_code == 401, wrong.text
            checked_by.add(wrong.headers[WORKER_HEADER])
        assert len(checked_by) == 2, "every guess went to one worker: the test proves nothing"
        right = {
            "grant_type": "client_credentials",
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
        }
        locked = [await http.post("/oauth/token", data=right) for _ in range(6)]
    assert {answer.status_code for answer in locked} == {429}


async def test_a_rate_limit_and_a_daily_quota_hold_across_the_workers(tmp_path: Path) -> None:
    """20 requests a minute: of 40 spread over both workers, exactly 20 pass. Six Medium messages a day: of ten
    submitted through both, exactly six are accepted."""
    server = start(tmp_path / "data", "--rate-limit", "20", "--daily-quota", "1000,6,1000")
    try:
        wait_for_workers(server, 2)
        async with mc_and_lnsp(server, "WKR") as (mc, lnsp):
            answers = [await lnsp.list_queue() for _ in range(40)]
            submissions = [
                await mc.submit(sample_body(mc.participant_id, [lnsp.participant_id], seed=500 + seed))
                for seed in range(10)
            ]
        statuses = Counter(a.status_code for a in answers)
        assert statuses == {200: 20, 429: 20}, statuses
        assert len({a.headers[WORKER_HEADER] for a in answers if a.status_code == 200}) == 2
        assert_problem(next(a for a in answers if a.status_code == 429), 429)
        outcomes = Counter(s.status_code for s in submissions)
        assert outcomes == {200: 6, 429: 4}, outcomes
        assert len({s.headers[WORKER_HEADER] for s in submissions}) == 2
    finally:
        server.stop()


def test_a_second_idx_serve_on_the_data_directory_of_the_workers_is_refused(
    workers_server: ServerProcess,
) -> None:
    """The workers share their parent's claim; anyone else still gets the clear refusal."""
    idx = Path(sys.executable).parent / "idx"
    second = subprocess.run(
        [str(idx), "serve", "--data-dir", str(workers_server.data_dir), "--port", str(free_port())],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert second.returncode == 1
    assert b"in use by another idx process" in second.stderr
    assert answering_pids(workers_server, tries=40) == worker_pids(workers_server)


async def test_a_killed_worker_is_restarted_without_losing_an_accepted_message_and_sigterm_stops_all(
    tmp_path: Path,
) -> None:
    """kill -9 of one worker under load: the parent starts another, every 200 is queued once; then SIGTERM to the
    parent ends every process of the exchange."""
    server = start(tmp_path / "data", "--rate-limit", "0")
    try:
        before = wait_for_workers(server, 2)
        async with mc_and_lnsp(server, "WKK") as (mc, lnsp):
            prepared = signed_messages(mc, [lnsp.participant_id], range(300, 380))
            victim = min(before)
            accepted = await accepted_across_a_crash(
                mc,
                prepared,
                crash_after=len(prepared) // 4,
                crash=lambda: os.kill(victim, signal.SIGKILL),
                at_once=8,
            )

            after = await asyncio.to_thread(wait_for_workers, server, 2, frozenset({victim}))
            assert victim not in after
            assert "worker_died" in server.log_tail(400)
            ids = await wait_for_queue(lnsp, len(accepted), within=60)
            assert not [i for i, n in Counter(ids).items() if n > 1], "a message was queued twice"
            assert not set(accepted) - set(ids), "an accepted message was lost"

        assert server.process is not None
        everything = {server.process.pid, *after, nats_pid(server)}
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=90)
        assert server.process.returncode == 0, server.log_tail()
        assert wait_gone(everything, within=30) == set()
    finally:
        server.stop()


async def test_workers_and_nats_end_when_the_parent_is_killed(tmp_path: Path) -> None:
    """kill -9 of `idx serve --workers 2`: the kernel ends its workers and its nats-server; the data directory can
    be served again."""
    server = start(tmp_path / "data", "--rate-limit", "0")
    try:
        assert server.process is not None
        orphans = {*wait_for_workers(server, 2), nats_pid(server)}
        server.process.kill()
        server.process.wait()
        assert wait_gone(orphans, within=30) == set()
        server.stop()  # only forgets the dead process and closes its log
        server.start(timeout=180.0)
        assert len(wait_for_workers(server, 2)) == 2
    finally:
        server.stop()


async def test_two_workers_on_postgresql_answer_and_queue_each_message_once(postgres_url: str, tmp_path: Path) -> None:
    """The event store, keys and counters in PostgreSQL: the parent prepares them once, both workers serve."""
    server = ServerProcess(
        tmp_path / "data",
        extra_args=(*WORKERS, "--database-url", postgres_url, "--rate-limit", "0"),
        env={"IDX_KEY_PASSPHRASE": "correct horse battery staple"},
    )
    server.start(timeout=180.0)
    try:
        assert len(wait_for_workers(server, 2)) == 2
        async with mc_and_lnsp(server, "WKP") as (mc, lnsp):
            sent = await submit_through_both(mc, lnsp, 10, seed=400)
            queue = await wait_for_queue(lnsp, len(sent), within=30)
            assert sorted(queue) == sorted(sent)
    finally:
        server.stop()


def test_a_first_worker_that_cannot_start_ends_the_parent_with_an_error(tmp_path: Path) -> None:
    """A plugin that does not exist stops the first worker; the parent says so, exits 1 and leaves nothing running."""
    idx = Path(sys.executable).parent / "idx"
    started = subprocess.run(
        [str(idx), "serve", "--data-dir", str(tmp_path / "data"), "--port", str(free_port()), *WORKERS,
         "--plugin", "no_such_module:plugin"],
        capture_output=True,
        timeout=180,
        check=False,
    )  # fmt: skip
    assert started.returncode == 1
    assert b"the first worker did not start" in started.stderr
    assert b"no_such_module" in started.stdout + started.stderr
    nats = int((tmp_path / "data" / "nats" / "nats.pid").read_text().strip())
    assert wait_gone({nats}, within=10) == set()
