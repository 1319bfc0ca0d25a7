"""Meter churn: only the NMI's MC or MDP on the reading date may send its readings."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from exchange.functions.bpqd import plugin
from exchange.functions.bpqd.sample import sample_body, sample_envelope
from exchange.functions.errors import RuleViolationError
from exchange.functions.protocol import StandingData, Submission

MakeSubmission = Callable[..., Submission]
Record = tuple[str, frozenset[str]]
Churned = Callable[..., StandingData]
NMI_FIELD = "data.transactions[0].nmiDetails[0].nmi"
# The NMI of the default sample envelope.
NMI: str = sample_envelope("MDP1", ["LNSP1"])["data"]["transactions"][0]["nmiDetails"][0]["nmi"]  # type: ignore[index]


@pytest.fixture
def churned(standing_with_nmis: Callable[[dict[str, list[Record]]], StandingData]) -> Churned:
    """Standing data whose records for the sample NMI are the (fromDate, MC and MDP) pairs given."""

    def build(*records: Record) -> StandingData:
        return standing_with_nmis({NMI: list(records)})

    return build


def test_sender_not_responsible_is_refused_naming_nmi_and_day(
    make_submission: MakeSubmission, churned: Churned
) -> None:
    """An MDP not answering for the NMI on the reading date is refused at the NMI, naming NMI and day."""
    standing = churned(("2026-01-01", frozenset({"MC1", "MDP2"})))
    with pytest.raises(RuleViolationError) as raised:
        plugin.accept(make_submission(sample_body("MDP1", ["LNSP1"])), standing)
    assert [(error.field, error.message) for error in raised.value.errors] == [
        (NMI_FIELD, f"MDP1 is not the MC or MDP of NMI {NMI} on 2026-07-01")
    ]
    assert raised.value.requested_recipients == ("LNSP1",)


@pytest.mark.parametrize("sender", ["MDP1", "MC1"])
def test_the_mc_or_mdp_of_the_nmi_is_accepted(make_submission: MakeSubmission, churned: Churned, sender: str) -> None:
    """Both the NMI's MC and its MDP may send its readings."""
    standing = churned(("2026-01-01", frozenset({"MC1", "MDP1"})))
    body = sample_body(sender, ["LNSP1"])
    assert plugin.accept(make_submission(body, sender=sender), standing).recipients == ("LNSP1",)


def test_an_nmi_without_standing_data_is_accepted(
    make_submission: MakeSubmission, standing_with_nmis: Callable[[dict[str, list[Record]]], StandingData]
) -> None:
    """Where no standing data applies to the NMI, any MC or MDP may send."""
    standing = standing_with_nmis({"6001999999": [("2026-01-01", frozenset({"MDP2"}))]})
    assert plugin.accept(make_submission(sample_body("MDP1", ["LNSP1"])), standing).recipients == ("LNSP1",)


@pytest.mark.parametrize(
    ("reading_date", "accepted"),
    [("2026-07-01", True), ("2026-07-02", True), ("2026-07-03", False), ("2025-12-31", True)],
    ids=["before-churn", "churn-day", "after-churn", "before-first-record"],
)
def test_responsibility_is_judged_on_the_reading_date(
    make_submission: MakeSubmission, churned: Churned, reading_date: str, accepted: bool
) -> None:
    """The outgoing MDP may send readings up to the day of the change, not for days after it."""
    standing = churned(("2026-01-01", frozenset({"MC1", "MDP1"})), ("2026-07-02", frozenset({"MC1", "MDP2"})))
    submission = make_submission(sample_body("MDP1", ["LNSP1"], reading_date=reading_date))
    if accepted:
        assert plugin.accept(submission, standing).recipients == ("LNSP1",)
    else:
        with pytest.raises(RuleViolationError, match=f"NMI {NMI} on {reading_date}"):
            plugin.accept(submission, standing)
