"""The event store of the exchange (eventsourcing on SQLite or PostgreSQL) and its group commit.

Every accepted submission and every step of its life is an event here. Concurrent callers share one
transaction (`GroupCommit`), so durability costs one fsync per batch rather than one per message.
"""

from __future__ import annotations

import asyncio
import base64
import zlib
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import msgspec
import psycopg
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    Compressor,
    IntegrityError,
    JSONTranscoder,
    Notification,
    Recording,
    Transcoder,
    Transcoding,
    TranscodingNotRegisteredError,
)
from psycopg.conninfo import conninfo_to_dict

from exchange.eventstore.database_errors import in_own_terms
from exchange.kernel.errors import ConcurrencyError
from exchange.kernel.tasks import LoopWithOwnThread

A = TypeVar("A", bound=Aggregate)


class BytesAsBase64(Transcoding):
    type = bytes
    name = "bytes_b64"

    def encode(self, obj: bytes) -> str:
        return base64.b64encode(obj).decode("ascii")

    def decode(self, data: str) -> bytes:
        return base64.b64decode(data)


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class MsgspecTranscoder(JSONTranscoder):
    """The stored JSON of eventsourcing's JSONTranscoder, written and read with msgspec (several times faster).

    Values of registered types keep the `{"_type_": name, "_data_": ...}` form, so events stored by either
    transcoder are read by both: the stores of earlier releases stay readable, and so does this one's by them.
    """

    def __init__(self) -> None:
        super().__init__()
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder()

    def encode(self, obj: Any) -> bytes:
        return self._encoder.encode(self._tagged(obj))

    def decode(self, data: bytes) -> Any:
        return self._untagged(self._decoder.decode(data))

    def _tagged(self, obj: Any) -> Any:
        kind = type(obj)
        if kind is str or kind is int or kind is bool or kind is float or obj is None:
            return obj
        if kind is dict:
            return {key: self._tagged(value) for key, value in obj.items()}
        if kind is list or kind is tuple:
            return [self._tagged(value) for value in obj]
        transcoding = self.types.get(kind)
        if transcoding is None:
            if isinstance(obj, str | int | float):
                return obj  # str and int enums: the json module writes them as their plain value too
            raise TranscodingNotRegisteredError(f"Object of type {kind} is not serializable: register a transcoding")
        return {"_type_": transcoding.name, "_data_": self._tagged(transcoding.encode(obj))}

    def _untagged(self, obj: Any) -> Any:
        kind = type(obj)
        if kind is dict:
            values = {key: self._untagged(value) for key, value in obj.items()}
            if len(values) == 2 and "_type_" in values and "_data_" in values:
                try:
                    return self.names[values["_type_"]].decode(values["_data_"])
                except KeyError as error:
                    raise TranscodingNotRegisteredError(f"No transcoding named {values['_type_']!r}") from error
            return values
        if kind is list:
            return [self._untagged(value) for value in obj]
        return obj


# Below this size zlib saves a few hundred bytes at ~40 µs per event written and again per read.
COMPRESS_FROM = 4096  # bytes of encoded state


class LargeOnlyCompressor(Compressor):
    """zlib for large stored states only; small ones are stored as their JSON.

    A zlib stream starts with 0x78 and encoded state with `{`, so the first byte tells which one is stored:
    events compressed by earlier releases (zlib throughout) stay readable.
    """

    def compress(self, data: bytes) -> bytes:
        return zlib.compress(data) if len(data) >= COMPRESS_FROM else data

    def decompress(self, data: bytes) -> bytes:
        return data if data[:1] == b"{" else zlib.decompress(data)


IN_MEMORY: Mapping[str, str] = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def sqlite_persistence(path: Path) -> dict[str, str]:
    """The settings of an event store in one SQLite file."""
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


class DatabaseUrlError(ValueError):
    """A `--database-url` the exchange cannot use; the message says what to give instead."""


# A process cut off from PostgreSQL inside a transaction (a partition, a paused process) holds its locks, the
# event store's table lock or a lease row's, until the server ends its session: after this many seconds idle in
# a transaction, within the 3 s a lease lives, so that another process can take over in time.
IDLE_TRANSACTION_TIMEOUT = 2


def postgres_persistence(url: str) -> dict[str, str]:
    """The settings of an event store in the PostgreSQL database of `url` (postgresql://USER:PASSWORD@HOST:PORT/DB).

    eventsourcing creates its tables when they are missing (CREATE ... IF NOT EXISTS), so a second start against
    the same database changes nothing.
    """
    parts = database_parts(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        # eventsourcing's recorder without pipeline mode, which can stall on a large group commit (see there).
        "APPLICATION_RECORDER_TOPIC": "exchange.eventstore.postgres:LedgerRecorder",
        "POSTGRES_DBNAME": parts["dbname"],
        "POSTGRES_HOST": parts["host"],
        "POSTGRES_PORT": parts["port"],
        "POSTGRES_USER": parts["user"],
        "POSTGRES_PASSWORD": parts["password"],
        # Request threads read the store while the group commit and the followers write: a small pool that may
        # grow to cover the default executor's sixteen threads.
        "POSTGRES_POOL_SIZE": "4",
        "POSTGRES_MAX_OVERFLOW": "16",
        # A connection broken by a restart of PostgreSQL is found out and replaced before use, so the exchange
        # carries on once the server is back.
        "POSTGRES_PRE_PING": "y",
        # How long a caller waits for a connection: with PostgreSQL down, a request gets its 503 after this long.
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(IDLE_TRANSACTION_TIMEOUT),
    }


def database_parts(url: str) -> dict[str, str]:
    """dbname, host, port, user and password of a PostgreSQL URL; DatabaseUrlError when one is missing."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise DatabaseUrlError("give a PostgreSQL URL: postgresql://USER:PASSWORD@HOST:PORT/DB")
    try:
        parts = conninfo_to_dict(url)
    except Exception as error:  # psycopg's parser says what is wrong; the caller only needs it in words
        raise DatabaseUrlError(f"the database URL cannot be read: {error}") from None
    missing = [name for name in ("user", "host", "dbname") if not parts.get(name)]
    if missing:
        raise DatabaseUrlError(
            f"the database URL lacks {', '.join(missing)}: give postgresql://USER:PASSWORD@HOST:PORT/DB"
        )
    return {
        "dbname": str(parts["dbname"]),
        "host": str(parts["host"]),
        "port": str(parts.get("port") or 5432),
        "user": str(parts["user"]),
        "password": str(parts.get("password") or ""),
    }


def create_postgres_tables(url: str) -> None:
    """Create the event store's tables in the database at `url` if missing, one process at a time.

    eventsourcing creates them with CREATE ... IF NOT EXISTS, which is not safe against another process doing the
    same at that moment (both insert into PostgreSQL's catalogue, one fails): processes starting together take
    turns under an advisory lock, and a ledger opened after this finds its tables there.
    """
    with psycopg.connect(url, connect_timeout=10) as connection, connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(hashtext('idx event store tables'))")
        Ledger.open(postgres_persistence(url)).close()


def persistence_for(database_url: str | None, sqlite_path: Path) -> dict[str, str]:
    """The one choice of storage backend: PostgreSQL when a database URL is given, else SQLite at `sqlite_path`."""
    return postgres_persistence(database_url) if database_url is not None else sqlite_persistence(sqlite_path)


class Ledger(Application[UUID]):
    """The exchange's application: aggregates in, notification log out."""

    # Large payloads are JSON and compress well; small events are not worth the time (see LargeOnlyCompressor).
    env = {"COMPRESSOR_TOPIC": "exchange.eventstore.ledger:LargeOnlyCompressor"}

    def construct_transcoder(self) -> Transcoder:
        transcoder = MsgspecTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(BytesAsBase64())
        transcoder.register(DateAsISO())

    @classmethod
    def open(cls, persistence: Mapping[str, str]) -> Ledger:
        """A ledger on any eventsourcing persistence module, named by `PERSISTENCE_MODULE` with its settings.

        Settings given here win over environment variables of the same name.
        """
        return cls(env=dict(persistence))

    @classmethod
    def open_sqlite(cls, path: Path) -> Ledger:
        return cls.open(sqlite_persistence(path))

    @classmethod
    def in_memory(cls) -> Ledger:
        """A ledger that keeps its events in this process only (eventsourcing's POPO store): for tests."""
        return cls.open(IN_MEMORY)

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """The aggregate, or None when it was never created."""
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(aggregate, cls):
            raise TypeError(f"{aggregate_id} is a {type(aggregate).__name__}, not a {cls.__name__}")
        return aggregate

    def notifications(
        self, after: int, limit: int, topics: Sequence[str] = (), stop: int | None = None
    ) -> Sequence[Notification]:
        """Stored events after a position, in commit order.

        Both stores assign positions under a lock held to the commit (SQLite's write lock, a table lock taken by
        eventsourcing on PostgreSQL), so a follower never sees a position filled in behind the one it has read.
        PostgreSQL may leave a gap where a transaction was rolled back; positions still only grow.
        """
        return self.recorder.select_notifications(after, limit, stop=stop, topics=topics, inclusive_of_start=False)

    def decode(self, notification: Notification) -> Any:
        return self.mapper.to_domain_event(notification)

    def last_position(self) -> int:
        return self.recorder.max_notification_id() or 0


class GroupCommit(LoopWithOwnThread):
    """Saves the events of concurrent callers in one transaction; answers each caller after the commit.

    A conflict (say, two submissions with the same id in one batch) must fail only the caller it concerns, so a
    failed batch is retried one caller at a time. Each caller's events are taken from its aggregates when it
    calls, so that a retry saves exactly those events again (an aggregate gives its pending events only once).
    """

    def __init__(self, ledger: Ledger, max_batch: int = 500) -> None:
        # A thread of its own: commits must not queue behind request work in the shared default pool.
        super().__init__("group-commit")
        self._ledger = ledger
        self._max_batch = max_batch
        self._pending: list[tuple[list[Any], asyncio.Future[list[Recording[UUID]]]]] = []
        self._wake = asyncio.Event()
        self._listeners: list[Callable[[], None]] = []

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call `listener` in the event loop after every commit that stored events: followers of the log are woken
        by what they follow rather than by polling it."""
        self._listeners.append(listener)

    def _committed(self) -> None:
        for listener in self._listeners:
            listener()

    async def save(self, *aggregates: Aggregate) -> list[Recording[UUID]]:
        if self._task is None:
            raise RuntimeError("GroupCommit is not running")
        events = [event for aggregate in aggregates for event in aggregate.collect_events()]
        if not events:
            return []
        future: asyncio.Future[list[Recording[UUID]]] = asyncio.get_running_loop().create_future()
        self._pending.append((events, future))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
                await asyncio.get_running_loop().run_in_executor(self._executor, self._commit, batch)

    def _commit(self, batch: list[tuple[list[Any], asyncio.Future[list[Recording[UUID]]]]]) -> None:
        loop = batch[0][1].get_loop()
        try:
            recordings = self._ledger.save(*(event for events, _ in batch for event in events))
        except IntegrityError:
            for events, future in batch:
                self._commit_one(events, future)
            return
        except Exception as error:  # the callers hear of it; the committer lives on for the next batch
            # The batch was one transaction and the store rolled it back whole: none of it is stored.
            failure = in_own_terms(error)
            for _, future in batch:
                loop.call_soon_threadsafe(_fail, future, failure)
            return
        loop.call_soon_threadsafe(self._committed)
        by_event = {(r.domain_event.originator_id, r.domain_event.originator_version): r for r in recordings}
        for events, future in batch:
            mine = [by_event[(e.originator_id, e.originator_version)] for e in events]
            loop.call_soon_threadsafe(_succeed, future, mine)

    def _commit_one(self, events: list[Any], future: asyncio.Future[list[Recording[UUID]]]) -> None:
        loop = future.get_loop()
        try:
            recordings = self._ledger.save(*events)
        except IntegrityError as error:
            # Callers hear of a concurrent change in the exchange's own terms, not the storage library's.
            loop.call_soon_threadsafe(_fail, future, ConcurrencyError(str(error)))
        except Exception as error:
            loop.call_soon_threadsafe(_fail, future, in_own_terms(error))
        else:
            loop.call_soon_threadsafe(self._committed)
            loop.call_soon_threadsafe(_succeed, future, recordings)


def _succeed(future: asyncio.Future[list[Recording[UUID]]], recordings: list[Recording[UUID]]) -> None:
    if not future.done():
        future.set_result(recordings)


def _fail(future: asyncio.Future[list[Recording[UUID]]], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
