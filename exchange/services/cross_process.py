"""What the processes of one exchange (`--workers N`, or several machines on one database) must agree on, though each
answers it from its own memory: sign-outs, and the standing-data cache that admission reads (revoked clients,
suspended participants).

A process applies its own changes at once. It takes in the other processes' changes every `REFRESH_INTERVAL`:
a sign-out or a revocation made through one process is refused by all of them within that time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog

from exchange.eventstore.directory import Directory
from exchange.kernel.clock import Clock
from exchange.kernel.tasks import Repeating, RunsInRounds
from exchange.services.access import TokenIssuer
from flowcontrol.limits import LimitStore

log = structlog.get_logger(__name__)

# Half a second: a sign-out is a person's act, and one cheap read of each store per process and interval.
REFRESH_INTERVAL = 0.5


@dataclass(eq=False)
class SignOuts:
    """Tokens given up at sign-out: refused by this process at once, and recorded for the others."""

    tokens: TokenIssuer
    limits: LimitStore
    clock: Clock

    async def end(self, token: str) -> None:
        """Sign out: `token` is refused from now on by every process; a token that is not genuine is ignored."""
        ended = self.tokens.end(token, self.clock.now())
        if ended is not None:
            await self.limits.record_sign_out(*ended)

    async def take_in(self) -> None:
        """Refuse the tokens other processes signed out."""
        now = self.clock.now()
        self.tokens.take_in_ended(await self.limits.sign_outs(now), now)


class CrossProcessRefresh(RunsInRounds):
    """Every REFRESH_INTERVAL, takes in the sign-outs and standing-data changes other processes made."""

    def __init__(self, sign_outs: SignOuts, directory: Directory, interval: float = REFRESH_INTERVAL) -> None:
        self._sign_outs = sign_outs
        self._directory = directory
        self._rounds = Repeating(
            "cross-process-refresh", self.run_once, interval, log=log, failure="cross_process_refresh_failed"
        )

    async def run_once(self) -> None:
        await self._sign_outs.take_in()
        await asyncio.to_thread(self._directory.refresh)
