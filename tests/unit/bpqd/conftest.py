"""A fake of the exchange's standing data, and submissions as the edge would hand them to the plugin."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from exchange.functions.protocol import Priority, Submission

PARTICIPANTS: dict[str, frozenset[str]] = {
    "MDP1": frozenset({"MDP"}),
    "MDP2": frozenset({"MDP"}),
    "MC1": frozenset({"MC"}),
    "LNSP1": frozenset({"LNSP"}),
    "LNSP2": frozenset({"LNSP"}),
    "GEN1": frozenset({"GENERATOR"}),
}


class FakeStandingData:
    """Participants and NMI records in memory, answering as the exchange's standing data does."""

    def __init__(self, nmis: dict[str, list[tuple[str, frozenset[str]]]] | None = None) -> None:
        # Per NMI: (fromDate, its MC and MDP), one record per meter churn.
        self.nmis = {
            nmi: sorted((date.fromisoformat(day), who) for day, who in records) for nmi, records in (nmis or {}).items()
        }

    def roles_of(self, participant_id: str) -> frozenset[str] | None:
        return PARTICIPANTS.get(participant_id)

    def nmi_responsible(self, nmi: str, day: date) -> frozenset[str] | None:
        in_force = [record for record in self.nmis.get(nmi, []) if record[0] <= day]
        if not in_force:
            return None
        since, responsible = in_force[-1]
        if since == day and len(in_force) > 1:
            # On the day of a change both the outgoing and the incoming one may send.
            responsible = responsible | in_force[-2][1]
        return responsible

    def nmi_network(self, nmi: str, day: date) -> str | None:
        # These records name no LNSP: the network rule has its tests on the services (tests/unit/services).
        return None


MakeSubmission = Callable[..., Submission]


@pytest.fixture(scope="session")
def standing() -> FakeStandingData:
    """Standing data with participants but no NMI records (session-wide so hypothesis tests may use it)."""
    return FakeStandingData()


@pytest.fixture(scope="session")
def standing_with_nmis() -> Callable[[dict[str, list[tuple[str, frozenset[str]]]]], FakeStandingData]:
    """Build standing data holding NMI records: per NMI, (fromDate, its MC and MDP) for each churn."""
    return FakeStandingData


@pytest.fixture(scope="session")
def make_submission() -> MakeSubmission:
    """Build the Submission the edge would pass for `body`, sent by MDP1 at Medium priority unless told."""

    def make(body: bytes, *, sender: str = "MDP1", priority: Priority = "Medium") -> Submission:
        letter = priority[0].lower()
        return Submission(
            business_function_id="pqd",
            resource_id="bpqd",
            sender_id=sender,
            priority=priority,
            message_context_id=f"pqd~bpqd~{letter}~{sender}~test-0001",
            schema_version="1.0",
            body=body,
        )

    return make
