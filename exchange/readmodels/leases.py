"""Leases: each follower of the event store runs in exactly one process at a time.

Why a lease row with a fencing token in the read side's database: every process of one exchange already shares
that database (DATA_DIR/views.sqlite for the processes of `--workers` on one machine, PostgreSQL for several
machines), and the followers' writes land there. So the proof that a writer still holds its lease can be checked
in the same transaction as its write (`Leases.fence`): on SQLite the transaction holds the file's write lock, on
PostgreSQL the fencing UPDATE holds the lease row's lock, so no takeover can commit between the check and the
write. A process paused past its TTL (SIGSTOP, a long GC, a stalled disk) and then resumed finds its token
superseded and its late batch rolled back; the new holder resumed from the recorded position, so nothing is skipped
or written twice.

The row: `leases(name, holder, token, expires_at)`. A lease is free once `expires_at` has passed (or it was
released); taking it adds one to `token`, so every tenure has a token of its own. Renewal only extends a lease
whose holder and token are unchanged.

Time: `expires_at` is the wall clock of the process that wrote it (milliseconds since the epoch), because SQLite
and PostgreSQL share no portable SQL for "now". On one machine every process reads the same clock. Across machines
their clocks must agree to well under the TTL (NTP does); a skew only makes a dead holder's lease free a little
sooner or later. Safety never rests on the clock: the fencing token refuses the late write whatever the clocks say.

The SQL is portable (`?` placeholders, `INSERT ... ON CONFLICT ... DO UPDATE ... WHERE ... RETURNING`), and only
`execute`, `execute_fetchall` and `commit` of the connection are used, so the same store runs on PostgreSQL
behind an aiosqlite-shaped connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

import structlog

from exchange.kernel.tasks import Repeating
from exchange.readmodels.views import ViewsConnection, tracked_position

log = structlog.get_logger(__name__)

# The contract allows a TTL of at most 3 s and a takeover within 5 s: renewing every second survives two missed
# renewals, and a process that does not hold a lease tries every second, so a dead holder's lease is taken at most
# TTL + one try (4 s) after its last renewal.
TTL = 3.0  # seconds
RENEW_EVERY = 1.0  # seconds

SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    token BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
"""


class FencedWriter(Protocol):
    """What a fenced write needs of the connection its transaction is open on."""

    def execute_fetchall(self, sql: str, parameters: Iterable[Any] | None = None, /) -> Awaitable[Iterable[Any]]: ...


class LeaseDatabase(FencedWriter, Protocol):
    """What the lease store uses of a connection: an aiosqlite.Connection, or one of that shape on PostgreSQL."""

    def execute(self, sql: str, parameters: Iterable[Any] | None = None, /) -> Awaitable[Any]: ...

    def executescript(self, sql_script: str, /) -> Awaitable[Any]: ...

    def commit(self) -> Awaitable[None]: ...


class LeaseLostError(Exception):
    """The lease is held by another tenure now: what was about to be written is not this process's to write."""


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


def new_holder() -> str:
    """A name for this process's tenures: its pid for people reading the table, and randomness for uniqueness
    across machines and restarts."""
    return f"{os.getpid()}-{secrets.token_hex(4)}"


@dataclass
class Leases:
    """The lease rows, on a connection of their own (never one with another transaction open)."""

    db: LeaseDatabase
    holder: str
    ttl: float = TTL
    now_ms: Callable[[], int] = wall_clock_ms

    async def create_table(self) -> None:
        # As a script: on PostgreSQL that runs under the views' schema lock, so processes starting together
        # do not collide creating it.
        await self.db.executescript(SCHEMA)

    async def acquire(self, name: str) -> int | None:
        """Take the lease if it is free or expired; its new fencing token, or None while another holds it."""
        return (await self.acquire_all([name])).get(name)

    async def acquire_all(self, names: Sequence[str]) -> dict[str, int]:
        """Take those of the leases that are free or expired, in one statement: their new fencing tokens."""
        if not names:
            return {}
        now = self.now_ms()
        rows = await self.db.execute_fetchall(
            "INSERT INTO leases (name, holder, token, expires_at) VALUES "  # noqa: S608 - placeholders only
            + ", ".join(["(?, ?, 1, ?)"] * len(names))
            + " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = leases.token + 1, "
            "expires_at = excluded.expires_at WHERE leases.expires_at <= ? RETURNING name, token",
            (*(value for name in names for value in (name, self.holder, now + self._ttl_ms)), now),
        )
        await self.db.commit()
        return {row[0]: int(row[1]) for row in rows}

    async def renew(self, name: str, token: int) -> bool:
        """Extend the lease of this tenure; False when another process took it meanwhile."""
        return name in await self.renew_all({name: token})

    async def renew_all(self, held: Mapping[str, int]) -> set[str]:
        """Extend the leases of these tenures (name: token) in one statement; the names still held."""
        if not held:
            return set()
        rows = await self.db.execute_fetchall(
            "UPDATE leases SET expires_at = ? WHERE holder = ? AND name IN ("  # noqa: S608 - placeholders only
            + ", ".join(["?"] * len(held))
            + ") RETURNING name, token",
            (self.now_ms() + self._ttl_ms, self.holder, *held),
        )
        await self.db.commit()
        # A name renewed under another token would be a tenure this keeper does not know: not the one it held.
        return {row[0] for row in rows if held.get(row[0]) == int(row[1])}

    async def release(self, name: str, token: int) -> None:
        """Free the lease at once (a clean stop), so that another process need not wait for it to expire."""
        await self.db.execute(
            "UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ? AND token = ?", (name, self.holder, token)
        )
        await self.db.commit()

    async def holders(self) -> dict[str, tuple[str, int]]:
        """Every lease's holder and token, expired or not (for tests and tools)."""
        rows = await self.db.execute_fetchall("SELECT name, holder, token FROM leases")
        return {row[0]: (row[1], int(row[2])) for row in rows}

    @property
    def _ttl_ms(self) -> int:
        return int(self.ttl * 1000)


async def fence(db: FencedWriter, name: str, token: int) -> None:
    """Inside the write's open transaction: prove the tenure `token` still holds the lease, or raise.

    The UPDATE changes nothing but takes the lease row's write lock until the transaction ends, so a takeover
    either committed before (and this refuses) or waits until after this write.
    """
    rows = await db.execute_fetchall(
        "UPDATE leases SET token = token WHERE name = ? AND token = ? RETURNING token", (name, token)
    )
    if not list(rows):
        raise LeaseLostError(f"the lease of {name} was taken over")


class LeaseKeeper:
    """Holds this process's leases: takes every free one, renews those it holds, and tells who may run.

    `start` tries every lease once before returning, so a process alone takes them all without waiting; then a
    round every `RENEW_EVERY` seconds renews what it holds and tries what it does not. A lease counts as held only
    until TTL after its last successful renewal by this process's monotonic clock: a process that cannot reach the
    database stops its followers before another process may take over.
    """

    def __init__(
        self,
        leases: Leases,
        names: Iterable[str],
        renew_every: float = RENEW_EVERY,
        writes: asyncio.Lock | None = None,
    ) -> None:
        self.leases = leases
        # The lock this process's projectors take turns at writing the views under: in turn with them, a renewal
        # is not starved by SQLite's busy-wait while they hand the write lock to each other.
        self._writes = writes or asyncio.Lock()
        self.names = tuple(dict.fromkeys(names))
        # name -> (token, held until, time.monotonic)
        self._held: dict[str, tuple[int, float]] = {}
        self._rounds = Repeating("leases", self.keep, renew_every, log=log, failure="lease_round_failed")
        self._rounds_started = False
        # Called when a round took a lease, so that its follower starts now rather than at its next poll.
        self.on_taken: Callable[[], None] | None = None

    def token(self, name: str) -> int | None:
        """The fencing token of this process's tenure of `name`, or None when it does not hold it now."""
        held = self._held.get(name)
        if held is None or held[1] <= time.monotonic():
            return None
        return held[0]

    def holds(self, name: str) -> bool:
        return self.token(name) is not None

    def held(self) -> list[str]:
        """The names of the leases this process holds, sorted."""
        return sorted(name for name in self.names if self.holds(name))

    def lost(self, name: str, token: int) -> None:
        """A fenced write found the tenure `token` superseded: stop counting it as held."""
        held = self._held.get(name)
        if held is not None and held[0] == token:
            del self._held[name]
            log.warning("lease_lost", lease=name, token=token)

    async def tracked(self, name: str) -> int:
        """The follower's recorded position, as committed by whichever process holds it."""
        # The lease store's connection is the views database's (any of that shape), where positions are tracked.
        return await tracked_position(cast(ViewsConnection, self.leases.db), name)

    async def start(self) -> None:
        await self.leases.create_table()
        await self.keep()
        self._rounds.start()
        self._rounds_started = True

    async def stop(self, release: bool = True) -> None:
        """Stop renewing and release what is held, so another process takes over at once (without `release`, as
        a process that dies: the leases expire after their TTL)."""
        if self._rounds_started:
            await self._rounds.stop()
        held, self._held = self._held, {}
        for name, (token, _) in held.items() if release else ():
            with contextlib.suppress(Exception):  # an unreachable database: the lease expires by itself
                await self.leases.release(name, token)

    async def keep(self) -> None:
        """One round: renew the leases held, try those not held (one statement each, whatever their number: each
        is a write to the database every follower writes to)."""
        started = time.monotonic()
        held = {name: token for name, (token, _) in self._held.items()}
        async with self._writes:
            renewed = await self.leases.renew_all(held)
        for name, token in held.items():
            if name in renewed:
                self._held[name] = (token, started + self.leases.ttl)
            else:
                self.lost(name, token)
        started = time.monotonic()
        async with self._writes:
            taken = await self.leases.acquire_all([name for name in self.names if name not in self._held])
        for name, token in taken.items():
            self._held[name] = (token, started + self.leases.ttl)
            log.info("lease_taken", lease=name, token=token, holder=self.leases.holder)
        if taken and self.on_taken is not None:
            self.on_taken()
