"""The market operator's system security scheduler, simulated: a DUID roll and a region roll every 5 minutes of
simulated time, published as `idx publish` does (a DUID roll split into one signed message per owner, the region
roll to every recipient, `*`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from exchange.functions.ssm.sample import duid_body, region_body
from exchange.functions.ssm.split import split_by_owner
from simulators.client import ParticipantClient
from simulators.participants import expect_status

SSM_SCOPES = ["SSM_SCHEDULE", "TLS_CERTIFICATE_MANAGEMENT", "TRANSLOG_TRANSLOG"]
RUN_EVERY = timedelta(minutes=5)


@dataclass
class Scheduler:
    """Publishes rolls as `client` (an enrolled sender holding the OPERATOR role) for the DUIDs of `owners`."""

    client: ParticipantClient
    owners: Mapping[str, str]
    # Each run schedules the next hour of intervals, so that consecutive runs overlap and the later one wins.
    intervals: int = 12
    published: list[str] = field(default_factory=list)

    async def run(self, run_at: datetime, seed: int = 0) -> list[str]:
        """One run: the DUID roll (one message per owner) and the region roll; the accepted context ids."""
        run = run_at.isoformat()
        sender = self.client.participant_id
        duid_roll = duid_body(sender, [], sorted(self.owners), run=run, intervals=self.intervals, seed=seed)
        messages = [("duid", piece) for piece in split_by_owner(duid_roll, self.owners)]
        messages.append(("region", region_body(sender, ["*"], run=run, intervals=self.intervals, seed=seed)))
        accepted = []
        for resource, body in messages:
            response = await self.client.submit(body, bf="ssm", resource=resource)
            expect_status(response, 200, f"the {resource} roll of run {run}")
            accepted.append(str(response.json()["data"]["messageContextId"]))
        self.published += accepted
        return accepted

    async def runs(self, first: datetime, count: int) -> None:
        """`count` runs 5 minutes of simulated time apart, from `first`."""
        for index in range(count):
            await self.run(first + RUN_EVERY * index, seed=index)
