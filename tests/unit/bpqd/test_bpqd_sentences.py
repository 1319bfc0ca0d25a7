"""Each BPQD structure rule is named at its path with its own sentence, as the 422 answer shows it."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
import pytest

from exchange.functions.bpqd import plugin
from exchange.functions.bpqd.sample import sample_envelope
from exchange.functions.errors import RuleViolationError
from tests.unit.bpqd.conftest import FakeStandingData, MakeSubmission


def broken_rules(make_submission: MakeSubmission, envelope: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(RuleViolationError) as refused:
        plugin.accept(make_submission(msgspec.json.encode(envelope)), FakeStandingData())
    return [(e.field, e.message) for e in refused.value.errors]


def test_an_envelope_without_transactions_is_refused(make_submission: MakeSubmission) -> None:
    envelope = sample_envelope("MDP1", ["LNSP1"])
    envelope["data"]["transactions"] = []
    assert broken_rules(make_submission, envelope) == [("data.transactions", "holds no transaction")]


def test_each_structural_fault_of_a_transaction_is_named_with_its_sentence(make_submission: MakeSubmission) -> None:
    """A non-timestamp, a blank meter, an unknown interval, no phases, too few values, no NMI detail."""
    envelope = sample_envelope("MDP1", ["LNSP1"])
    transaction = envelope["data"]["transactions"][0]
    transaction["transactionDateTime"] = "yesterday"
    detail = transaction["nmiDetails"][0]
    no_phases = copy.deepcopy(detail) | {"phases": []}
    short = copy.deepcopy(detail)
    short["phases"][0]["voltage"] = short["phases"][0]["voltage"][:3]
    detail |= {"meterSerialNumber": "  ", "intervalLength": 7}
    transaction["nmiDetails"] += [no_phases, short]
    envelope["data"]["transactions"].append(copy.deepcopy(transaction) | {"nmiDetails": []})

    assert broken_rules(make_submission, envelope) == [
        ("data.transactions[0].transactionDateTime", "must be an ISO 8601 timestamp with an offset"),
        ("data.transactions[0].nmiDetails[0].meterSerialNumber", "must not be blank"),
        ("data.transactions[0].nmiDetails[0].intervalLength", "7 is not one of 1, 5, 10, 15, 30 minutes"),
        ("data.transactions[0].nmiDetails[1].phases", "holds no phase"),
        ("data.transactions[0].nmiDetails[2].phases[0].voltage", "holds 3 values where 288 are due"),
        ("data.transactions[1].transactionDateTime", "must be an ISO 8601 timestamp with an offset"),
        ("data.transactions[1].nmiDetails", "holds no NMI detail"),
    ]
