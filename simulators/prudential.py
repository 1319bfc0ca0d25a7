"""The operator's scheduled producer of WEMS prudential data (AEMO's WEMS guide §3.1): the day's figures of every market
participant by noon, then every hour an update of invoiced-not-paid and prepayments.

Time is simulated: `run` publishes day after day and hour after hour as fast as the exchange accepts them.
Publications go through the same signed POST as any sender's messages, each to the one participant it is about.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
from cryptography import x509

from exchange.functions.prud.sample import envelope, sample_parameters
from exchange.functions.prud.schema import ENCODER
from simulators.client import ParticipantClient, make_csr, new_key

NOON = 12


async def operator_signs(operator: ParticipantClient) -> None:
    """Give the operator's client a certificate to sign publications with.

    Nominated as the secondary where the operator already has a primary, so that whatever signs with that one
    (`idx publish` with its key file, say) keeps working.
    """
    key = new_key()
    issued = await operator.http.post(
        "/certs/v1/certificates", json={"csr": make_csr(key, "OPERATOR-publisher")}, headers=operator.headers()
    )
    issued.raise_for_status()
    data = issued.json()["data"]
    nominations = await operator.http.get("/certs/v1/nominations", headers=operator.headers())
    primary = nominations.json().get("data", {}).get("primary") if nominations.status_code == 200 else None
    chosen = {"primary": primary, "secondary": data["serialNumber"]} if primary else {"primary": data["serialNumber"]}
    nominated = await operator.http.put("/certs/v1/nominations", json=chosen, headers=operator.headers())
    nominated.raise_for_status()
    operator.key, operator.certificate = key, x509.load_pem_x509_certificate(data["certificate"].encode())


@dataclass
class PrudentialProducer:
    """Publishes the prudential figures of `participants` from `first_day` on, as the operator."""

    operator: ParticipantClient
    participants: list[str]
    first_day: date = date(2026, 7, 1)
    # The Current parameters last published per participant: what its services must now answer.
    latest: dict[str, dict[str, Any]] = field(default_factory=dict)
    # How many publications went to each participant.
    counts: dict[str, int] = field(default_factory=dict)
    published: int = 0

    async def run(self, days: int, hourly_updates: int) -> None:
        """`days` simulated days: each the noon figures (Current and Forecast), then `hourly_updates` updates."""
        for offset in range(days):
            day = self.first_day + timedelta(days=offset)
            await self.noon(day)
            for hour in range(NOON + 1, NOON + 1 + hourly_updates):
                await self.hourly(day, hour)

    async def noon(self, day: date) -> None:
        """The day's cumulative estimated exposure is known: Current and Forecast figures for everyone."""
        for participant in self.participants:
            for calculation_type in ("Current", "Forecast"):
                parameters = sample_parameters(participant, day.isoformat(), calculation_type=calculation_type)
                await self._publish(parameters, f"{day}T{NOON:02d}:00:00.000+08:00")

    async def hourly(self, day: date, hour: int) -> None:
        """On the hour: invoices paid and prepayments made change the outstanding amount and trading margin."""
        for participant in self.participants:
            rng = random.Random(f"{participant}:{day}:{hour}")
            parameters = sample_parameters(
                participant,
                day.isoformat(),
                invoiced_not_paid=Decimal(rng.randrange(0, 40_000_000)) / 100,
                prepayments=Decimal(rng.randrange(0, 10_000_000)) / 100,
            )
            await self._publish(parameters, f"{day}T{hour:02d}:00:00.000+08:00")

    async def _publish(self, parameters: dict[str, Any], sent: str) -> httpx.Response:
        participant = parameters["participantId"]
        body = ENCODER.encode(envelope(self.operator.participant_id, [participant], "daily", [parameters], sent=sent))
        response = await self.operator.submit(body, bf="prud", resource="daily")
        if response.status_code != 200:
            raise RuntimeError(f"publishing to {participant} answered {response.status_code}: {response.text}")
        self.published += 1
        self.counts[participant] = self.counts.get(participant, 0) + 1
        if parameters["calculationType"] == "Current":
            self.latest[participant] = parameters
        return response
