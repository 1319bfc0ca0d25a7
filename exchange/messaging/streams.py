"""JetStream streams the exchange keeps on file: created on first start, brought to the wanted config after."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import nats.errors
import nats.js.errors
import structlog
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig

log = structlog.get_logger(__name__)

CLUSTER_REPLICAS = 3
# JetStream's answers when it cannot place more than one replica: a server not in a cluster (10074), or a cluster
# with too few JetStream servers to hold them (10023 insufficient resources, 10005 no suitable peers).
_TOO_FEW_SERVERS = {10074, 10023, 10005}


async def ensure_file_stream(
    js: JetStreamContext, name: str, subject_prefix: str, max_age_seconds: float, replicas: int = 1
) -> None:
    """A file-backed stream of every subject under the prefix, with a one-hour window for `Nats-Msg-Id` dedupe.

    A stream that exists with another config, its replica count included, is updated to this one: JetStream
    scales a stream's replicas up or down in place, keeping its messages and consumers.
    """
    config = StreamConfig(
        name=name,
        subjects=[f"{subject_prefix}.>"],
        storage=StorageType.FILE,
        max_age=max_age_seconds,
        duplicate_window=3600,
        num_replicas=replicas,
    )
    try:
        await js.add_stream(config)
    except nats.js.errors.APIError as error:
        if error.err_code in _TOO_FEW_SERVERS:
            raise _too_many_replicas(name, replicas, error) from error
        if not isinstance(error, nats.js.errors.BadRequestError):
            raise
        try:
            await js.update_stream(config)
        except nats.js.errors.APIError as update_error:
            if update_error.err_code in _TOO_FEW_SERVERS:
                raise _too_many_replicas(name, replicas, update_error) from update_error
            raise
    log.info("stream_ready", stream=name, replicas=replicas)


def _too_many_replicas(name: str, replicas: int, error: nats.js.errors.APIError) -> RuntimeError:
    return RuntimeError(
        f"JetStream cannot keep stream {name} with {replicas} replicas ({error.description}); "
        "give --stream-replicas no more than the cluster's JetStream servers (1 without a cluster)"
    )


async def default_replicas(js: JetStreamContext, streams: Sequence[str]) -> int:
    """The replicas for the exchange's streams when none are asked for: 3 on a cluster that can place them, else 1.

    Whether it can is asked of JetStream itself, by adding and removing a small R3 stream. A stream that already
    has more replicas keeps them: a cluster that misses a node at start would otherwise scale it down.
    """
    suffix = secrets.token_hex(4)  # two processes starting together each probe on their own
    probe_name = f"IDX_REPLICAS_PROBE_{suffix}"
    probe = StreamConfig(
        name=probe_name,
        subjects=[f"idx.replicas-probe.{suffix}"],
        storage=StorageType.MEMORY,
        num_replicas=CLUSTER_REPLICAS,
    )
    replicas = CLUSTER_REPLICAS
    try:
        await _add_probe(js, probe)
    except nats.js.errors.APIError as error:
        if error.err_code not in _TOO_FEW_SERVERS:
            raise
        replicas = 1
    else:
        await js.delete_stream(probe_name)
    for name in streams:
        with contextlib.suppress(nats.js.errors.NotFoundError):
            info = await js.stream_info(name)
            replicas = max(replicas, info.config.num_replicas or 1)
    return replicas


# A cluster that has just formed (or is electing its meta leader) may leave the probe's creation unanswered for a
# while: it is asked again, the same stream, which JetStream creates once.
PROBE_ATTEMPTS = 4


async def _add_probe(js: JetStreamContext, probe: StreamConfig) -> None:
    for attempt in range(1, PROBE_ATTEMPTS + 1):
        try:
            await js.add_stream(probe)
            return
        except nats.errors.TimeoutError:
            if attempt == PROBE_ATTEMPTS:
                raise
            log.warning("replicas_probe_unanswered", attempt=attempt)


ACK_TIMEOUT = 5.0  # seconds; JetStream acks within milliseconds when it works


class AcksOverdueError(TimeoutError):
    """JetStream did not acknowledge published messages in time: the stream may have stopped storing."""


async def acknowledged(acks: Sequence[asyncio.Future[Any]], within: float = ACK_TIMEOUT) -> None:
    """Wait for the acks of `publish_async`, or raise AcksOverdueError and give up those still pending.

    nats-py never times an ack out. A JetStream that stopped storing (a full disk disables it) would keep its
    publisher waiting for ever, and the notifier waits inside its views transaction, locking every other
    follower out of the file. Cancelled, a pending ack also frees its place among the pending publishes.
    """
    if not acks:
        return
    done, pending = await asyncio.wait(acks, timeout=within)
    for future in pending:
        future.cancel()
    for future in done:
        future.result()  # a negative ack raises here
    if pending:
        raise AcksOverdueError(f"JetStream acknowledged {len(done)} of {len(acks)} messages within {within}s")


@dataclass(frozen=True)
class Publication:
    """One message for a stream, with the `Nats-Msg-Id` that lets JetStream drop it when it comes again."""

    subject: str
    payload: bytes
    msg_id: str


# How long publishing keeps trying while a cluster elects a new stream leader (seconds; an election after a lost
# node takes a few), before the caller's own retry takes over.
RETRY_WITHIN = 30.0
# What a leader change, a lost node or a reconnect looks like to a publisher: no answer, no responders, or
# JetStream saying it is not available for now. Anything else (a refusal) is raised at once.
_TRANSIENT = (
    TimeoutError,
    nats.errors.NoRespondersError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
    nats.js.errors.TooManyStalledMsgsError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.OutboundBufferLimitError,
)


async def publish_confirmed(
    js: JetStreamContext,
    publications: Sequence[Publication],
    *,
    ack_timeout: float = ACK_TIMEOUT,
    retry_within: float = RETRY_WITHIN,
) -> None:
    """Publish every message and return once JetStream has stored each, publishing again those that failed.

    A message published again carries the same `Nats-Msg-Id`, so one the stream stored before its ack was lost
    is dropped as a duplicate, not stored twice. Transient failures are retried with a growing pause until
    `retry_within` seconds have passed; then the last one is raised.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + retry_within
    pending = list(publications)
    pause = 0.1
    attempt = 0
    while pending:
        attempt += 1
        failed, error = await _publish_once(js, pending, ack_timeout)
        if not failed:
            if attempt > 1:
                log.info("publish_retried", attempts=attempt, messages=len(publications))
            return
        if loop.time() + pause > deadline:
            assert error is not None
            raise error
        log.warning("publish_retrying", failed=len(failed), error=repr(error), attempt=attempt)
        await asyncio.sleep(pause)
        pause = min(pause * 2, 2.0)
        pending = failed


async def _publish_once(
    js: JetStreamContext, publications: list[Publication], ack_timeout: float
) -> tuple[list[Publication], BaseException | None]:
    """Publish each once and wait for its ack: the publications to try again, and the last transient error."""
    futures: list[tuple[Publication, asyncio.Future[Any]]] = []
    unpublished: list[Publication] = []
    error: BaseException | None = None
    for index, publication in enumerate(publications):
        try:
            future = await js.publish_async(
                publication.subject,
                publication.payload,
                wait_stall=ack_timeout,
                headers={"Nats-Msg-Id": publication.msg_id},
            )
        except _TRANSIENT as transient:
            # The rest would meet the same state of the connection: try them all again later.
            unpublished = publications[index:]
            error = transient
            break
        futures.append((publication, future))
    failed: list[Publication] = []  # in the order given, so that a retry keeps each subject's order
    if futures:
        _, unanswered = await asyncio.wait([future for _, future in futures], timeout=ack_timeout)
        for future in unanswered:
            future.cancel()  # frees its place among the pending publishes
        for publication, future in futures:
            if future in unanswered or future.cancelled():  # cancelled: given up by a closing connection
                failed.append(publication)
                error = AcksOverdueError(f"JetStream did not acknowledge {publication.subject} within {ack_timeout}s")
                continue
            problem = future.exception()
            if problem is None:
                continue
            if not isinstance(problem, _TRANSIENT):
                raise problem
            failed.append(publication)
            error = problem
    return failed + unpublished, error
