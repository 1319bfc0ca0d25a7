"""Properties over every sample envelope: valid ones pass, one bad voltage is found exactly where it is."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.functions.bpqd import plugin
from exchange.functions.bpqd.sample import sample_envelope
from exchange.functions.errors import RuleViolationError
from exchange.functions.protocol import Priority, StandingData, Submission

MakeSubmission = Callable[..., Submission]

senders = st.sampled_from(["MDP1", "MC1"])
recipient_lists = st.lists(st.sampled_from(["LNSP1", "LNSP2"]), min_size=1, max_size=2, unique=True)
priorities: st.SearchStrategy[Priority] = st.sampled_from(["High", "Medium", "Low"])
interval_lengths = st.sampled_from([1, 5, 10, 15, 30])
reading_dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)).map(date.isoformat)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
bad_voltages = st.one_of(
    # Below the smallest negative float rather than a filter on 0.0, which hypothesis turns into a bound
    # that lets -0.0 (equal to 0.0, so in range) through.
    st.floats(max_value=-math.ulp(0.0), allow_nan=False, allow_infinity=False),
    st.floats(min_value=1000.0, exclude_min=True, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=40, deadline=None, database=None)
@given(
    sender=senders,
    recipients=recipient_lists,
    priority=priorities,
    nmis=st.integers(min_value=1, max_value=3),
    interval_length=interval_lengths,
    reading_date=reading_dates,
    seed=seeds,
)
def test_every_sample_envelope_is_accepted(
    make_submission: MakeSubmission,
    standing: StandingData,
    sender: str,
    recipients: list[str],
    priority: Priority,
    nmis: int,
    interval_length: int,
    reading_date: str,
    seed: int,
) -> None:
    """Any sample envelope, encoded, is accepted for exactly its recipients with its messageId."""
    envelope: dict[str, Any] = sample_envelope(
        sender,
        recipients,
        priority=priority,
        nmis=nmis,
        interval_length=interval_length,
        reading_date=reading_date,
        seed=seed,
    )
    submission = make_submission(msgspec.json.encode(envelope), sender=sender, priority=priority)
    acceptance = plugin.accept(submission, standing)
    assert acceptance.recipients == tuple(recipients)
    assert acceptance.message_id == envelope["data"]["header"]["messageId"]


@settings(max_examples=60, deadline=None, database=None)
@given(
    nmis=st.integers(min_value=1, max_value=3),
    interval_length=interval_lengths,
    seed=seeds,
    bad=bad_voltages,
    data=st.data(),
)
def test_one_voltage_out_of_range_is_named_exactly(
    make_submission: MakeSubmission,
    standing: StandingData,
    nmis: int,
    interval_length: int,
    seed: int,
    bad: float,
    data: st.DataObject,
) -> None:
    """Any one voltage replaced by a value outside 0..1000 V yields exactly one error, at its path."""
    envelope: dict[str, Any] = sample_envelope("MDP1", ["LNSP1"], nmis=nmis, interval_length=interval_length, seed=seed)
    detail = data.draw(st.integers(min_value=0, max_value=nmis - 1), label="nmiDetail")
    phase = data.draw(st.integers(min_value=0, max_value=2), label="phase")
    index = data.draw(st.integers(min_value=0, max_value=1440 // interval_length - 1), label="interval")
    envelope["data"]["transactions"][0]["nmiDetails"][detail]["phases"][phase]["voltage"][index] = bad
    try:
        plugin.accept(make_submission(msgspec.json.encode(envelope)), standing)
    except RuleViolationError as error:
        fields = [found.field for found in error.errors]
    else:
        fields = []
    assert fields == [f"data.transactions[0].nmiDetails[{detail}].phases[{phase}].voltage[{index}]"]
