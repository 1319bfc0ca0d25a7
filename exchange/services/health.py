"""Whether this exchange can serve: its event store answers, its NATS connection is up, its followers move on."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from exchange.eventstore.ledger import Ledger
from exchange.services.delivery_lag import DeliveryLag

STORE_TIMEOUT = 2.0  # seconds; a store slower than this counts as down


class Follower(Protocol):
    """A read model or relay following the event store (a `Projector`)."""

    @property
    def name(self) -> str: ...

    def stuck(self, store_position: int) -> bool:
        """Whether it fails to move on while the store holds events it has not handled."""
        ...


@dataclass(frozen=True)
class ProcessInfo:
    """One process among those sharing the exchange's database, and the followers of the log it runs."""

    pid: int
    leases: list[str]


@dataclass(eq=False)
class Health:
    ledger: Ledger
    nats_connected: Callable[[], bool]
    followers: Sequence[Follower] = ()
    # The followers whose leases this process holds, by name.
    leases: Callable[[], list[str]] = list
    # How far delivery trails acceptance; None where it is not measured.
    lag: DeliveryLag | None = None

    def process(self) -> ProcessInfo:
        """This process among those sharing the database: its pid and the followers it runs (their leases)."""
        return ProcessInfo(os.getpid(), sorted(self.leases()))

    async def delivery_lag(self) -> float | None:
        """How far delivery trails the accepted messages, in seconds (what submissions are admitted on); None when
        it is not measured. A lag is no failure: it slows submissions down rather than stopping the exchange."""
        return None if self.lag is None else round(await self.lag.current(), 3)

    async def failing(self) -> list[str]:
        """The parts that do not answer, by name; none when all is well."""
        failing = []
        try:
            store_position = await asyncio.wait_for(asyncio.to_thread(self.ledger.last_position), timeout=STORE_TIMEOUT)
        except Exception:  # any failure of the store, whatever its kind, means it cannot serve
            failing.append("event store")
        else:
            # A follower that stopped while the store grew serves stale views and delivers nothing new. One another
            # process holds is never failing here: its failures are that process's to report.
            failing.extend(follower.name for follower in self.followers if follower.stuck(store_position))
        if not self.nats_connected():
            failing.append("nats")
        return failing
