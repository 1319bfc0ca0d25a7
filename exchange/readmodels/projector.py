"""Followers of the notification log: each handles new events and records how far it got.

A handler's view rows and its tracked position are written in one transaction, so after `kill -9` it resumes
exactly where its last commit left it, and handling the same events again changes nothing.

In `idx serve` one `LogFollower` reads each batch of the log once, decodes it once and hands it to every
projector; a projector on its own (a rebuild, services built without followers) reads for itself.

With several processes on one views database each projector runs under a lease (exchange.readmodels.leases): only
the process holding it handles events, each batch proves in its own transaction that its tenure still holds the
lease, and a new tenure resumes from the recorded position. Readers in the other processes wait on that recorded
position instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Coroutine, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from exchange.eventstore.ledger import Ledger
from exchange.kernel.errors import UnavailableError
from exchange.kernel.tasks import LoopWithOwnThread, cancel_and_wait
from exchange.readmodels.leases import LeaseKeeper, LeaseLostError, fence
from exchange.readmodels.views import ViewsConnection, track, tracked_positions

log = structlog.get_logger(__name__)

# A failed step is retried after a pause that doubles from the first to the last: a full disk or a locked file
# clears up by itself, and the log is not flooded meanwhile.
FIRST_RETRY = 0.1  # seconds
LAST_RETRY = 5.0  # seconds
# What a reader waiting on a follower that does not catch up is told: about one retry of the follower away.
FOLLOWER_RETRY_AFTER = LAST_RETRY
# Commits of this process wake the follower at once; this finds those of other processes on the same files.
FALLBACK_POLL = 0.5  # seconds
# A reader waiting on a follower another process holds looks at the position that process records this often.
TRACKED_POLL = 0.025  # seconds


@dataclass(frozen=True)
class Batch:
    """Decoded events of the log after position `after`, in log order, and the position they reach.

    Every event from `after` up to `reached` of the topics read is in `events` (position, topic, event), so a
    projector at a position in [after, reached) may move to `reached` after handling those past its position.
    """

    after: int
    reached: int
    events: Sequence[tuple[int, str, Any]]


class Handler(Protocol):
    """What a projection or relay implements."""

    @property
    def name(self) -> str: ...

    @property
    def schema(self) -> str:
        """SQL creating its view tables if they do not exist yet."""
        ...

    @property
    def topics(self) -> tuple[str, ...]:
        """Topics of the events it handles; the others are skipped without being read."""
        ...

    async def act(self, events: list[tuple[int, Any]]) -> None:
        """Side effects outside the database (publishing), done before the position is recorded."""
        ...

    async def handle(self, db: ViewsConnection, events: list[tuple[int, Any]]) -> None:
        """Apply events (position, domain event) inside the open transaction of `db`."""
        ...


class Projector:
    """Runs one handler over the ledger's notification log."""

    def __init__(
        self,
        ledger: Ledger,
        db: ViewsConnection,
        handler: Handler,
        batch: int = 500,
        writes: asyncio.Lock | None = None,
    ) -> None:
        self._ledger = ledger
        self._db = db
        # Projectors sharing one database file share this lock. SQLite makes a blocked writer poll with
        # sleeps growing to 100 ms; with five writers on one file that put BEGIN IMMEDIATE at 20-185 ms p90
        # under load. Taking turns in-process hands the write over at once; across processes the busy timeout
        # still arbitrates.
        self._writes = writes or asyncio.Lock()
        self._handler = handler
        self._batch = batch
        self._wake = asyncio.Event()
        self._advanced = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._catching_up = asyncio.Lock()
        # Reading and decoding the log in a thread of its own keeps followers from queueing behind requests.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"projector-{handler.name}")
        self._topics = frozenset(handler.topics)
        self.position = 0
        # Set while its steps fail (from the first failure until a step succeeds): health reports it.
        self.failing_since: float | None = None
        # The error of its last failed step while it fails: the stream watchdog restarts NATS only for NATS's own.
        self.last_failure: Exception | None = None
        # When a follower driving it may try again after a failure (time.monotonic), and the pause after that.
        self.retry_at = 0.0
        self._retry = FIRST_RETRY
        self._follower: LogFollower | None = None
        # Under a lease (several processes on one database) it runs only while this process holds its lease.
        self._leases: LeaseKeeper | None = None
        self._token: int | None = None
        # How many notifications before the recorded position it handles again whenever it takes its lease.
        self.replay = 0

    @property
    def name(self) -> str:
        """The name of the handler it runs (its row in the tracking table)."""
        return self._handler.name

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(self._handler.topics)

    def driven_by(self, follower: LogFollower) -> None:
        """From now on the follower reads the log for it and hands it its batches."""
        self._follower = follower

    def leased_by(self, leases: LeaseKeeper) -> None:
        """From now on it handles events only while this process holds the lease named after it."""
        self._leases = leases

    async def may_run(self) -> bool:
        """Whether this process may handle events for it now (it holds the lease, or there are no leases).

        A tenure that just began resumes from the position recorded by the last holder: while another process
        held the lease, the position in memory stood still.
        """
        if self._leases is None:
            return True
        token = self._leases.token(self.name)
        if token is not None and token != self._token:
            position = await self._leases.tracked(self.name)
            async with self._advanced:
                self.position = max(0, position - self.replay)
                self._advanced.notify_all()
            log.info("follower_resumed", projection=self.name, position=position, token=token)
        if token is None and self.failing_since is not None:
            # Its failures were this process's while it held the lease; whoever holds it now reports its own.
            self.failing_since, self.retry_at, self._retry = None, 0.0, FIRST_RETRY
            self.last_failure = None
        self._token = token
        return token is not None

    def poke(self) -> None:
        """New events were committed: look now instead of at the next poll."""
        if self._follower is not None:
            self._follower.poke()
        self._wake.set()

    async def prepare(self) -> None:
        """Create the view tables if needed and read the tracked position."""
        await Projector.prepare_together([self])

    @classmethod
    async def prepare_together(cls, projectors: Sequence[Projector]) -> None:
        """`prepare` for projectors that share one connection and its lock, in two round trips to the connection
        in all (one schema script, one read of the tracking table) rather than two each."""
        if not projectors:
            return
        db, writes = projectors[0]._db, projectors[0]._writes
        if any(projector._db is not db or projector._writes is not writes for projector in projectors):
            raise ValueError("projectors prepared together share one connection and one lock")
        script = "\n".join(projector._handler.schema for projector in projectors if projector._handler.schema)
        if script:
            # executescript commits whatever transaction is open on the connection first: under the lock, that
            # is never the batch of a follower sharing this connection.
            async with writes:
                await db.executescript(script)
        positions = await tracked_positions(db)
        for projector in projectors:
            projector.position = positions.get(projector.name, 0)
            # The position was read again: the next tenure starts from it (and its replay).
            projector._token = None

    async def start(self, replay: int = 0) -> None:
        """Follow the log on its own from the tracked position, or from `replay` notifications before it."""
        await self.prepare()
        self.position = max(0, self.position - replay)
        self._task = asyncio.create_task(self._run(), name=f"projector-{self._handler.name}")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        self._executor.shutdown(wait=True)

    async def catch_up(self) -> int:
        """Handle everything recorded so far (for rebuilds); returns the position reached."""
        while await self.may_run() and await self._step():
            pass
        return self.position

    async def wait_for(self, position: int, within: float = 10.0) -> None:
        """Return once the handler has handled the event at `position` (read-your-writes for the API).

        A projector that was not started (services built without followers, as in the unit tests) catches up
        in the caller instead, one caller at a time, so that the same events are never handled twice.
        """
        if self._task is None and (self._follower is None or not self._follower.running):
            async with self._catching_up:
                await self.catch_up()
        self.poke()
        try:
            async with asyncio.timeout(within):
                while not await self._reached(position):
                    # Woken at once when this process handles it; the timeout notices a lease taken or lost.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(TRACKED_POLL), self._advanced:
                            await self._advanced.wait_for(lambda: self.position >= position)
        except TimeoutError:
            # A follower that cannot move on (its writes fail, e.g. on a full disk) retries by itself: the reader
            # is told to come back, not that the exchange broke.
            raise UnavailableError(
                f"the {self.name} view is catching up with the event store; try again shortly",
                retry_after=FOLLOWER_RETRY_AFTER,
            ) from None

    async def _reached(self, position: int) -> bool:
        if self.position >= position:
            return True
        if self._leases is not None and not self._leases.holds(self.name):
            # Another process follows for this one: its progress is what it commits.
            return await self._leases.tracked(self.name) >= position
        return False

    async def wait_for_latest(self, within: float = 10.0) -> None:
        """Return once the handler has handled every event committed so far, by this process or any other.

        A query of its view then sees what the caller, or a request before it, just committed.
        """
        await self.wait_for(await asyncio.to_thread(self._ledger.last_position), within)

    def stuck(self, store_position: int) -> bool:
        """Whether it fails to move on while the store holds events it has not handled."""
        return self.failing_since is not None and self.position < store_position

    async def _run(self) -> None:
        retry = FIRST_RETRY
        while True:
            try:
                handled = await self._step()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # stopping: an error on the way out is not a reason to go on
                if self.failing_since is None:
                    self.failing_since = time.monotonic()
                    log.exception("projection_failed", projection=self._handler.name, position=self.position)
                else:
                    log.warning("projection_still_failing", projection=self._handler.name, error=repr(error))
                await asyncio.sleep(retry)
                retry = min(retry * 2, LAST_RETRY)
                continue
            if self.failing_since is not None:
                log.info("projection_recovered", projection=self._handler.name, position=self.position)
                self.failing_since = None
            retry = FIRST_RETRY
            if not handled:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.05):
                        await self._wake.wait()
                self._wake.clear()

    async def _step(self) -> bool:
        """Read and handle the next batch itself; True when events were handled (so look again at once)."""
        loop = asyncio.get_running_loop()
        batch = await loop.run_in_executor(
            self._executor, read_batch, self._ledger, self.position, self._batch, self._handler.topics
        )
        if batch is None:
            return False
        await self.apply(batch)
        return bool(batch.events)

    async def apply(self, batch: Batch) -> None:
        """Handle the events of a batch past its position (the batch must start at or before it), then move on.

        Past the last event of its topics, everything up to `reached` is known to be of no concern to this
        handler, so its position moves there too and `wait_for` works for any position in the log.
        """
        if batch.after > self.position:
            raise ValueError(f"{self.name} is at {self.position}: a batch after {batch.after} would skip events")
        if batch.reached <= self.position:
            return
        topics = self._topics
        events = [
            (p, event) for p, topic, event in batch.events if p > self.position and (not topics or topic in topics)
        ]
        if events:
            await self._handler.act(events)
            try:
                async with self._writes:
                    await self._write(events, batch.reached)
            except LeaseLostError:
                # Another process took over and resumes from the position recorded before this batch.
                assert self._leases is not None and self._token is not None
                self._leases.lost(self.name, self._token)
                self._token = None
                log.warning("follower_fenced_off", projection=self.name, position=self.position)
                return
        async with self._advanced:
            self.position = batch.reached
            self._advanced.notify_all()

    def failed(self, error: Exception) -> None:
        """A follower's step failed for this projector: report it, and pause it for a while that doubles."""
        if self.failing_since is None:
            self.failing_since = time.monotonic()
            log.error("projection_failed", projection=self.name, position=self.position, exc_info=error)
        else:
            log.warning("projection_still_failing", projection=self.name, error=repr(error))
        self.last_failure = error
        self.retry_at = time.monotonic() + self._retry
        self._retry = min(self._retry * 2, LAST_RETRY)

    def succeeded(self) -> None:
        if self.failing_since is not None:
            log.info("projection_recovered", projection=self.name, position=self.position)
            self.failing_since = None
            self.last_failure = None
        self.retry_at = 0.0
        self._retry = FIRST_RETRY

    async def _write(self, events: list[tuple[int, Any]], reached: int) -> None:
        if self._db.in_transaction:
            # A failed COMMIT (a full disk, say) can leave its transaction open, holding the file's write lock
            # against every other follower; what it held was not recorded, so it is undone and done again.
            with contextlib.suppress(sqlite3.Error):
                await self._db.execute("ROLLBACK")
        try:
            await self._db.execute("BEGIN IMMEDIATE")
            if self._token is not None:
                # First, so that a tenure that was taken over does no work; the lock it takes lasts to COMMIT.
                await fence(self._db, self.name, self._token)
            await self._handler.handle(self._db, events)
            await track(self._db, self._handler.name, reached)
            await self._db.execute("COMMIT")
        except BaseException:
            # Cancelled while its COMMIT was queued, the COMMIT still runs: then there is nothing to undo.
            with contextlib.suppress(sqlite3.Error):
                await self._db.execute("ROLLBACK")
            raise


def read_batch(ledger: Ledger, after: int, limit: int, topics: Sequence[str]) -> Batch | None:
    """The next events of these topics after `after`, decoded (None when the log holds nothing after it).

    Blocking: call it in a thread.
    """
    stop = ledger.last_position()
    if stop <= after:
        return None
    notifications = ledger.notifications(after, limit, topics, stop)
    reached = notifications[-1].id if len(notifications) == limit else stop
    return Batch(after, reached, [(n.id, n.topic, ledger.decode(n)) for n in notifications])


class LogFollower(LoopWithOwnThread):
    """Reads each new batch of the notification log once, decodes it once and hands it to every projector.

    The projectors handle a batch at the same time (the relay publishes while views are written), each in its
    own transaction with its own tracked position. One that fails pauses with growing backoff while the others
    go on; it catches up from its own position when it tries again. Commits of this process wake the follower
    (`poke`, called by the group commit); a slow poll finds what other processes commit to the same files.
    """

    def __init__(self, ledger: Ledger, projectors: Iterable[Projector], batch: int = 500) -> None:
        super().__init__("log-follower")
        self._ledger = ledger
        self.projectors = list(projectors)
        self._batch = batch
        self._wake = asyncio.Event()
        for projector in self.projectors:
            projector.driven_by(self)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def poke(self) -> None:
        """New events were committed: read now instead of at the next poll."""
        self._wake.set()

    async def _run(self) -> None:
        retry = FIRST_RETRY
        while True:
            self._wake.clear()
            try:
                handled = await self._step()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # reading or decoding the log failed: every projector waits for it
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
                for projector in self.projectors:
                    if projector.failing_since is None:
                        projector.failing_since = time.monotonic()
                log.warning("log_read_failed", error=repr(error))
                await asyncio.sleep(retry)
                retry = min(retry * 2, LAST_RETRY)
                continue
            retry = FIRST_RETRY
            if not handled:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._pause()):
                        await self._wake.wait()

    def _pause(self) -> float:
        """How long to wait for a commit: at most until the next failed projector may try again."""
        retries = [p.retry_at for p in self.projectors if p.retry_at > 0]
        until_retry = min(retries) - time.monotonic() if retries else FALLBACK_POLL
        return max(0.0, min(FALLBACK_POLL, until_retry))

    async def _step(self) -> bool:
        """One read per group of projectors at nearby positions; True when a batch held events."""
        now = time.monotonic()
        # Projectors whose lease another process holds are skipped: that process follows for them.
        due = sorted([p for p in self.projectors if p.retry_at <= now and await p.may_run()], key=lambda p: p.position)
        loop = asyncio.get_running_loop()
        work: list[Coroutine[Any, Any, None]] = []
        handled = False
        # Usually every projector is at the head of the log and this is one read. One far behind (a new listing,
        # the relay's replay) reads its own batches, so the others are not held back while it catches up.
        while due:
            topics = () if any(not p.topics for p in due) else tuple(dict.fromkeys(t for p in due for t in p.topics))
            batch = await loop.run_in_executor(
                self._executor, read_batch, self._ledger, due[0].position, self._batch, topics
            )
            if batch is None:
                break
            handled = handled or bool(batch.events)
            served = [p for p in due if p.position < batch.reached]
            due = [p for p in due if p.position >= batch.reached]
            work.extend(self._apply(p, batch) for p in served)
        await asyncio.gather(*work)
        return handled

    async def _apply(self, projector: Projector, batch: Batch) -> None:
        try:
            await projector.apply(batch)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            projector.failed(error)
        else:
            projector.succeeded()
