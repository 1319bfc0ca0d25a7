"""The ssm function's acceptance of rolls, in-process: recipients, ownership, row rules and splitting by owner."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import date
from typing import Any

import msgspec
import pytest

from exchange.functions.errors import RuleViolationError
from exchange.functions.protocol import Acceptance, Submission
from exchange.functions.ssm import plugin
from exchange.functions.ssm.domain import PublishedRoll
from exchange.functions.ssm.sample import duid_body, region_body, roll_envelope
from tests.conformance.fakes import FakeStandingData, two_generators

RUN = "2026-10-28T04:00:00+10:00"


@pytest.fixture
def standing() -> FakeStandingData:
    """GEN1 owns DUID1 and DUID2, GEN2 owns DUID3; TNSP1 procures; LNSP1 receives nothing of ssm."""
    data = two_generators(500.0)
    data.participants["TNSP1"] = frozenset({"TNSP"})
    data.participants["LNSP1"] = frozenset({"LNSP"})
    return data


def submit(resource: str, body: bytes, standing: FakeStandingData, sender: str = "OPERATOR") -> Acceptance:
    context = f"ssm~{resource}~m~{sender}~{uuid.uuid4().hex[:24]}"
    return plugin.accept(Submission("ssm", resource, sender, "Medium", context, "1.0", body), standing)


def refused(resource: str, body: bytes, standing: FakeStandingData) -> dict[str, str]:
    with pytest.raises(RuleViolationError) as caught:
        submit(resource, body, standing)
    return {error.field: error.message for error in caught.value.errors}


def edited(body: bytes, change: Any) -> bytes:
    envelope = json.loads(body)
    change(envelope)
    return msgspec.json.encode(envelope)


def test_a_region_roll_to_star_goes_to_every_generator_and_tnsp(standing: FakeStandingData) -> None:
    """`*` is resolved on acceptance to every holder of a receiving role, and the rows are kept for the queries."""
    accepted = submit("region", region_body("OPERATOR", ["*"], run=RUN), standing)
    assert accepted.recipients == ("GEN1", "GEN2", "TNSP1")
    [roll] = accepted.records
    assert isinstance(roll, PublishedRoll) and roll.recipients == ["GEN1", "GEN2", "TNSP1"]
    assert len(roll.rows) == 5 * 12 and {row["regionId"] for row in roll.rows} == {
        "NSW1",
        "QLD1",
        "SA1",
        "TAS1",
        "VIC1",
    }


def test_star_with_nobody_holding_a_receiving_role_is_refused() -> None:
    """A publication to `*` that would reach no one is a mistake, named on the header."""
    standing = FakeStandingData(participants={"OPERATOR": frozenset({"OPERATOR"})})
    errors = refused("region", region_body("OPERATOR", ["*"]), standing)
    assert "no participant holds" in errors["data.header.receivingParticipantId[0]"]


def test_star_among_named_recipients_is_refused(standing: FakeStandingData) -> None:
    """`*` means everyone, so it stands alone."""
    errors = refused("region", region_body("OPERATOR", ["GEN1", "*"]), standing)
    assert "only recipient" in errors["data.header.receivingParticipantId[1]"]


def test_a_duid_roll_goes_to_its_owner(standing: FakeStandingData) -> None:
    """A roll of GEN1's two DUIDs is accepted for GEN1 alone."""
    accepted = submit("duid", duid_body("OPERATOR", ["GEN1"], ["DUID1", "DUID2"]), standing)
    assert accepted.recipients == ("GEN1",)
    assert accepted.message_type == "SSM_INDICATIVE_ROLL_DUID"


def test_a_duid_roll_naming_another_owners_duid_is_refused_naming_the_row(standing: FakeStandingData) -> None:
    """Row 3 holds GEN2's DUID3 in a roll for GEN1: 422 at `data.transactions[0].rows[3].duid`."""
    body = duid_body("OPERATOR", ["GEN1"], ["DUID1"], intervals=4)
    body = edited(body, lambda e: e["data"]["transactions"][0]["rows"][3].update(duid="DUID3"))
    errors = refused("duid", body, standing)
    assert list(errors) == ["data.transactions[0].rows[3].duid"]
    assert "GEN2" in errors["data.transactions[0].rows[3].duid"]


def test_a_duid_roll_to_star_or_to_two_recipients_is_refused(standing: FakeStandingData) -> None:
    """A DUID roll has one recipient: `*` (resolving to many) and two names are both refused on the header."""
    for recipients in (["*"], ["GEN1", "GEN2"]):
        errors = refused("duid", duid_body("OPERATOR", recipients, ["DUID1"]), standing)
        assert "data.header.receivingParticipantId" in errors


def test_an_unknown_duid_is_refused(standing: FakeStandingData) -> None:
    errors = refused("duid", duid_body("OPERATOR", ["GEN1"], ["NOSUCH"], intervals=1), standing)
    assert errors == {"data.transactions[0].rows[0].duid": "DUID NOSUCH is not registered"}


def test_rows_break_their_rules_each_named(standing: FakeStandingData) -> None:
    """Off-boundary interval, negative and NaN MW, an unknown region and status, a run without offset, a repeat."""
    rows = [
        {"runDateTime": RUN, "regionId": "NSW1", "intervalDateTime": "2026-10-28T04:03:00+10:00",
         "requirementMW": -1.0, "enabledMW": 10.0},
        {"runDateTime": "2026-10-28T04:00:00", "regionId": "WA1", "intervalDateTime": "2026-10-28T04:05:00+10:00",
         "requirementMW": 10.0, "enabledMW": 10_001.0},
        {"runDateTime": RUN, "regionId": "VIC1", "intervalDateTime": "2026-10-28T04:05:00+10:00",
         "requirementMW": 10.0, "enabledMW": 10.0},
        {"runDateTime": RUN, "regionId": "VIC1", "intervalDateTime": "2026-10-27T18:05:00+00:00",
         "requirementMW": 10.0, "enabledMW": 10.0},
    ]  # fmt: skip
    body = msgspec.json.encode(roll_envelope("OPERATOR", ["*"], "region", rows))
    errors = refused("region", body, standing)
    path = "data.transactions[0].rows"
    assert set(errors) == {
        f"{path}[0].intervalDateTime",
        f"{path}[0].requirementMW",
        f"{path}[1].runDateTime",
        f"{path}[1].regionId",
        f"{path}[1].enabledMW",
        f"{path}[3]",  # the same VIC1 interval (in UTC) and run as row 2
    }
    duid = duid_body("OPERATOR", ["GEN1"], ["DUID1"], intervals=1)
    duid = duid.replace(b'"enablementMW":', b'"enablementMW":-0.5,"x":').replace(b'"ENABLED"', b'"ON"')
    duid = duid.replace(b'"NOT_ENABLED"', b'"ON"')
    errors = refused("duid", duid, standing)
    assert {"data.transactions[0].rows[0].enablementMW", "data.transactions[0].rows[0].enablementStatus"} <= set(errors)


def test_the_transaction_type_must_match_the_resource(standing: FakeStandingData) -> None:
    body = edited(
        region_body("OPERATOR", ["*"]),
        lambda e: e["data"]["transactions"][0].update(transactionType="SSM_INDICATIVE_ROLL_DUID"),
    )
    assert "data.transactions[0].transactionType" in refused("region", body, standing)


def test_a_body_of_the_wrong_shape_names_the_field(standing: FakeStandingData) -> None:
    body = edited(region_body("OPERATOR", ["*"]), lambda e: e["data"]["transactions"][0]["rows"][2].pop("enabledMW"))
    assert list(refused("region", body, standing)) == ["data.transactions[0].rows[2]"]


def test_split_gives_one_roll_per_owner_each_accepted(standing: FakeStandingData) -> None:
    """`idx publish` splits a roll of three DUIDs of two owners into two rolls, each to its owner with its rows."""
    body = duid_body("OPERATOR", [], ["DUID1", "DUID3", "DUID2"], intervals=2)
    owners = {"DUID1": "GEN1", "DUID2": "GEN1", "DUID3": "GEN2"}
    pieces = plugin.split("duid", body, owners)
    accepted = {submit("duid", piece, standing).recipients: json.loads(piece) for piece in pieces}
    assert set(accepted) == {("GEN1",), ("GEN2",)}
    gen1_rows = accepted[("GEN1",)]["data"]["transactions"][0]["rows"]
    assert sorted({row["duid"] for row in gen1_rows}) == ["DUID1", "DUID2"] and len(gen1_rows) == 4
    assert {row["duid"] for row in accepted[("GEN2",)]["data"]["transactions"][0]["rows"]} == {"DUID3"}
    assert plugin.split("region", b"{}", owners) == [b"{}"]
    with pytest.raises(ValueError, match="NOSUCH"):
        plugin.split("duid", duid_body("OPERATOR", [], ["NOSUCH"]), owners)


def test_a_duid_roll_goes_to_the_owner_on_the_interval_day_after_a_transfer(standing: FakeStandingData) -> None:
    """DUID1 passes from GEN1 to GEN2 on 28 October: rows of that day are GEN2's, and GEN1 is refused naming the row."""
    unit = standing.units["DUID1"]
    standing.units["DUID1"] = dataclasses.replace(unit, transfers=((date(2026, 10, 28), "GEN2"),))
    assert submit("duid", duid_body("OPERATOR", ["GEN2"], ["DUID1"], run=RUN), standing).recipients == ("GEN2",)
    errors = refused("duid", duid_body("OPERATOR", ["GEN1"], ["DUID1"], run=RUN), standing)
    assert errors["data.transactions[0].rows[0].duid"] == "DUID DUID1 is not GEN1's (it is GEN2's)"
    earlier = "2026-10-27T04:00:00+10:00"  # the day before the transfer: still GEN1's
    assert submit("duid", duid_body("OPERATOR", ["GEN1"], ["DUID1"], run=earlier), standing).recipients == ("GEN1",)
