"""Followers of the notification log: each handles new events and records how far it got.

A handler's view rows and its tracked position are written in one transaction, so after `kill -9` it resumes
exactly where its last commit left it, and handling the same events again changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import aiosqlite
import structlog

from exchange.eventstore.ledger import Ledger
from exchange.kernel.errors import UnavailableError
from exchange.kernel.tasks import cancel_and_wait
from exchange.readmodels.views import track, tracked_position

log = structlog.get_logger(__name__)

# A failed step is retried after a pause that doubles from the first to the last: a full disk or a locked file
# clears up by itself, and the log is not flooded meanwhile.
FIRST_RETRY = 0.1  # seconds
LAST_RETRY = 5.0  # seconds
# What a reader waiting on a follower that does not catch up is told: about one retry of the follower away.
FOLLOWER_RETRY_AFTER = LAST_RETRY


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

    async def handle(self, db: aiosqlite.Connection, events: list[tuple[int, Any]]) -> None:
        """Apply events (position, domain event) inside the open transaction of `db`."""
        ...


class Projector:
    """Runs one handler over the ledger's notification log."""

    def __init__(
        self,
        ledger: Ledger,
        db: aiosqlite.Connection,
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
        self.position = 0
        # Set while its steps fail (from the first failure until a step succeeds): health reports it.
        self.failing_since: float | None = None

    @property
    def name(self) -> str:
        """The name of the handler it runs (its row in the tracking table)."""
        return self._handler.name

    def poke(self) -> None:
        """New events were committed: look now instead of at the next poll."""
        self._wake.set()

    async def prepare(self) -> None:
        """Create the view tables if needed and read the tracked position."""
        if self._handler.schema:
            # executescript commits whatever transaction is open on the connection first: under the lock, that
            # is never the batch of a follower sharing this connection.
            async with self._writes:
                await self._db.executescript(self._handler.schema)
        self.position = await tracked_position(self._db, self._handler.name)

    async def start(self, replay: int = 0) -> None:
        """Follow the log from the tracked position, or from `replay` notifications before it (see Relay)."""
        await self.prepare()
        self.position = max(0, self.position - replay)
        self._task = asyncio.create_task(self._run(), name=f"projector-{self._handler.name}")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._executor.shutdown(wait=True)

    async def catch_up(self) -> int:
        """Handle everything recorded so far (for rebuilds); returns the position reached."""
        while await self._step():
            pass
        return self.position

    async def wait_for(self, position: int, within: float = 10.0) -> None:
        """Return once the handler has handled the event at `position` (read-your-writes for the API).

        A projector that was not started (services built without followers, as in the unit tests) catches up
        in the caller instead, one caller at a time, so that the same events are never handled twice.
        """
        if self._task is None:
            async with self._catching_up:
                await self.catch_up()
        self.poke()
        try:
            async with asyncio.timeout(within), self._advanced:
                await self._advanced.wait_for(lambda: self.position >= position)
        except TimeoutError:
            # A follower that cannot move on (its writes fail, e.g. on a full disk) retries by itself: the reader
            # is told to come back, not that the exchange broke.
            raise UnavailableError(
                f"the {self.name} view is catching up with the event store; try again shortly",
                retry_after=FOLLOWER_RETRY_AFTER,
            ) from None

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
        """Handle the next batch; True when events were handled (so look again at once)."""
        loop = asyncio.get_running_loop()
        stop = await loop.run_in_executor(self._executor, self._ledger.last_position)
        if stop <= self.position:
            return False
        notifications = await loop.run_in_executor(
            self._executor, self._ledger.notifications, self.position, self._batch, self._handler.topics, stop
        )
        # Past the last event of its topics, everything up to `stop` is known to be of no concern to this
        # handler, so its position moves there too and `wait_for` works for any position in the log.
        reached = notifications[-1].id if len(notifications) == self._batch else stop
        if notifications:
            events = await loop.run_in_executor(
                self._executor, lambda: [(n.id, self._ledger.decode(n)) for n in notifications]
            )
            await self._handler.act(events)
            async with self._writes:
                await self._write(events, reached)
        async with self._advanced:
            self.position = reached
            self._advanced.notify_all()
        return bool(notifications)

    async def _write(self, events: list[tuple[int, Any]], reached: int) -> None:
        if self._db.in_transaction:
            # A failed COMMIT (a full disk, say) can leave its transaction open, holding the file's write lock
            # against every other follower; what it held was not recorded, so it is undone and done again.
            with contextlib.suppress(sqlite3.Error):
                await self._db.execute("ROLLBACK")
        try:
            await self._db.execute("BEGIN IMMEDIATE")
            await self._handler.handle(self._db, events)
            await track(self._db, self._handler.name, reached)
            await self._db.execute("COMMIT")
        except BaseException:
            # Cancelled while its COMMIT was queued, the COMMIT still runs: then there is nothing to undo.
            with contextlib.suppress(sqlite3.Error):
                await self._db.execute("ROLLBACK")
            raise
