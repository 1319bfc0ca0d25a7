"""Whether this exchange can serve: its event store answers and its NATS connection is up."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from exchange.eventstore.ledger import Ledger

STORE_TIMEOUT = 2.0  # seconds; a store slower than this counts as down


class Health:
    def __init__(self, ledger: Ledger, nats_connected: Callable[[], bool]) -> None:
        self._ledger = ledger
        self._nats_connected = nats_connected

    async def failing(self) -> list[str]:
        """The parts that do not answer, by name; none when all is well."""
        failing = []
        try:
            await asyncio.wait_for(asyncio.to_thread(self._ledger.last_position), timeout=STORE_TIMEOUT)
        except Exception:  # any failure of the store, whatever its kind, means it cannot serve
            failing.append("event store")
        if not self._nats_connected():
            failing.append("nats")
        return failing
