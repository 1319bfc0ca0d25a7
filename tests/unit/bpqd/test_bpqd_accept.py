"""What the BPQD plugin accepts, and where it points when it refuses."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from exchange.functions.bpqd import plugin
from exchange.functions.bpqd.sample import sample_body, sample_envelope
from exchange.functions.errors import MalformedBodyError, RuleViolationError
from exchange.functions.protocol import Acceptance, BusinessFunction, StandingData, Submission, Watermarks

MakeSubmission = Callable[..., Submission]
Mutation = Callable[[dict[str, Any]], None]
Key = str | int

DETAIL: tuple[Key, ...] = ("data", "transactions", 0, "nmiDetails", 0)
PHASE0 = (*DETAIL, "phases", 0)
PHASE1 = (*DETAIL, "phases", 1)
PATH_DETAIL = "data.transactions[0].nmiDetails[0]"
PATH_PHASE0 = f"{PATH_DETAIL}.phases[0]"
RECIPIENTS = ("LNSP1",)


def _parent(envelope: dict[str, Any], path: tuple[Key, ...]) -> Any:
    node: Any = envelope
    for key in path[:-1]:
        node = node[key]
    return node


def setting(path: tuple[Key, ...], value: object) -> Mutation:
    def mutate(envelope: dict[str, Any]) -> None:
        _parent(envelope, path)[path[-1]] = value

    return mutate


def deleting(path: tuple[Key, ...]) -> Mutation:
    def mutate(envelope: dict[str, Any]) -> None:
        del _parent(envelope, path)[path[-1]]

    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(envelope: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(envelope)

    return mutate


def submit(make_submission: MakeSubmission, envelope: dict[str, Any], standing: StandingData) -> Acceptance:
    return plugin.accept(make_submission(msgspec.json.encode(envelope)), standing)


def test_plugin_is_the_pqd_business_function() -> None:
    """The catalogue entry: pqd (entity PQD_BPQD), resource bpqd from MC/MDP to LNSP, watermarks 8k/9k/10k."""
    function: BusinessFunction = plugin
    assert (function.id, function.name, function.entity) == ("pqd", "Basic Power Quality Data", "PQD_BPQD")
    [resource] = function.resources
    assert (resource.id, resource.schema_versions) == ("bpqd", ("1.0",))
    assert (resource.sender_roles, resource.receiver_roles) == (frozenset({"MC", "MDP"}), frozenset({"LNSP"}))
    assert function.watermark_defaults == Watermarks(8000, 9000, 10000)


def test_sample_envelope_is_accepted_for_its_recipients(
    make_submission: MakeSubmission, standing: StandingData
) -> None:
    """A valid envelope is accepted, routed to every named recipient, with its messageId and message type."""
    envelope = sample_envelope("MDP1", ["LNSP1", "LNSP2"], nmis=2)
    acceptance = submit(make_submission, envelope, standing)
    assert acceptance == Acceptance(
        recipients=("LNSP1", "LNSP2"),
        message_id=envelope["data"]["header"]["messageId"],  # type: ignore[index]
        message_type="BasicPowerQualityData",
    )


HEADER = ("data", "header")
TRANSACTION = ("data", "transactions", 0)
P_TRANSACTION = "data.transactions[0]"


def case(name: str, mutation: Mutation, field: str, recipients: tuple[str, ...] = RECIPIENTS) -> Any:
    return pytest.param(mutation, field, recipients, id=name)


MUTATIONS = [
    case("checksum", setting((*DETAIL, "nmiChecksum"), "0"), f"{PATH_DETAIL}.nmiChecksum"),
    case("nmi-short", setting((*DETAIL, "nmi"), "600144100"), f"{PATH_DETAIL}.nmi"),
    case("nmi-lower", setting((*DETAIL, "nmi"), "6001a41001"), f"{PATH_DETAIL}.nmi"),
    case("meter-blank", setting((*DETAIL, "meterSerialNumber"), " "), f"{PATH_DETAIL}.meterSerialNumber"),
    case("interval", setting((*DETAIL, "intervalLength"), 7), f"{PATH_DETAIL}.intervalLength"),
    case("array-short", deleting((*PHASE1, "voltage", 0)), f"{PATH_DETAIL}.phases[1].voltage"),
    case("duplicate-phase", setting((*DETAIL, "phases", 2, "phase"), "A"), f"{PATH_DETAIL}.phases[2].phase"),
    case("phase-D", setting((*PHASE1, "phase"), "D"), f"{PATH_DETAIL}.phases[1].phase"),
    case("no-phase", setting((*DETAIL, "phases"), []), f"{PATH_DETAIL}.phases"),
    case("flag", setting((*PHASE0, "qualityFlag"), "X"), f"{PATH_PHASE0}.qualityFlag"),
    case("null-under-A", setting((*PHASE0, "voltage", 17), None), f"{PATH_PHASE0}.voltage[17]"),
    case(
        "null-under-E",
        both(setting((*PHASE0, "qualityFlag"), "E"), setting((*PHASE0, "current", 3), None)),
        f"{PATH_PHASE0}.current[3]",
    ),
    case("voltage-high", setting((*PHASE0, "voltage", 17), 1000.5), f"{PATH_PHASE0}.voltage[17]"),
    case("voltage-neg", setting((*PHASE0, "voltage", 0), -1), f"{PATH_PHASE0}.voltage[0]"),
    case("current-high", setting((*PHASE0, "current", 287), 10000.01), f"{PATH_PHASE0}.current[287]"),
    case("current-neg", setting((*PHASE0, "current", 5), -0.1), f"{PATH_PHASE0}.current[5]"),
    case("angle-high", setting((*PHASE0, "phaseAngle", 9), 180.5), f"{PATH_PHASE0}.phaseAngle[9]"),
    case("angle-low", setting((*PHASE0, "phaseAngle", 9), -181), f"{PATH_PHASE0}.phaseAngle[9]"),
    case("no-nmi-detail", setting((*TRANSACTION, "nmiDetails"), []), f"{P_TRANSACTION}.nmiDetails"),
    case("no-transaction", setting(("data", "transactions"), []), "data.transactions"),
    case(
        "timestamp-without-offset",
        setting((*TRANSACTION, "transactionDateTime"), "2026-07-02T09:00:00"),
        f"{P_TRANSACTION}.transactionDateTime",
    ),
    case("reading-date", setting((*DETAIL, "readingDate"), "2026-02-30"), f"{PATH_DETAIL}.readingDate"),
    case(
        "transaction-type",
        setting((*TRANSACTION, "transactionType"), "MeterData"),
        f"{P_TRANSACTION}.transactionType",
    ),
    case("missing-field", deleting((*DETAIL, "meterSerialNumber")), PATH_DETAIL),
    case(
        "meter-serial-21",
        setting((*DETAIL, "meterSerialNumber"), "M" * 21),
        f"{PATH_DETAIL}.meterSerialNumber",
    ),
    case(
        "transaction-id-101",
        setting((*TRANSACTION, "transactionId"), "T" * 101),
        f"{P_TRANSACTION}.transactionId",
    ),
    case("transaction-id-blank", setting((*TRANSACTION, "transactionId"), " "), f"{P_TRANSACTION}.transactionId"),
    case("voltage-as-string", setting((*PHASE0, "voltage"), "240.1"), f"{PATH_PHASE0}.voltage"),
    case("interval-as-string", setting((*DETAIL, "intervalLength"), "5"), f"{PATH_DETAIL}.intervalLength"),
    case(
        "header-sender",
        setting((*HEADER, "initiatingParticipantId"), "MC1"),
        "data.header.initiatingParticipantId",
    ),
    case("header-function", setting((*HEADER, "businessFunctionId"), "gr"), "data.header.businessFunctionId"),
    case(
        "header-resource",
        setting((*HEADER, "businessFunctionResourceId"), "recall"),
        "data.header.businessFunctionResourceId",
    ),
    case("header-priority", setting((*HEADER, "priority"), "High"), "data.header.priority"),
    case("market", setting((*HEADER, "market"), "MARS"), "data.header.market"),
    case(
        "unknown-recipient",
        setting((*HEADER, "receivingParticipantId"), ["LNSP1", "NOBODY"]),
        "data.header.receivingParticipantId[1]",
        ("LNSP1", "NOBODY"),
    ),
    case(
        "recipient-not-lnsp",
        setting((*HEADER, "receivingParticipantId"), ["GEN1"]),
        "data.header.receivingParticipantId[0]",
        ("GEN1",),
    ),
    case(
        "duplicate-recipient",
        setting((*HEADER, "receivingParticipantId"), ["LNSP1", "LNSP1"]),
        "data.header.receivingParticipantId[1]",
        ("LNSP1", "LNSP1"),
    ),
    case(
        "no-recipient",
        setting((*HEADER, "receivingParticipantId"), []),
        "data.header.receivingParticipantId",
        (),
    ),
    case("no-header", deleting(HEADER), "data", ()),
]


@pytest.mark.parametrize(("mutation", "field", "recipients"), MUTATIONS)
def test_each_broken_rule_is_named_by_its_path(
    make_submission: MakeSubmission,
    standing: StandingData,
    mutation: Mutation,
    field: str,
    recipients: tuple[str, ...],
) -> None:
    """One broken rule in a valid envelope gives exactly one error at its path, with the recipients."""
    envelope = copy.deepcopy(sample_envelope("MDP1", ["LNSP1"]))
    mutation(envelope)
    with pytest.raises(RuleViolationError) as raised:
        submit(make_submission, envelope, standing)
    assert [error.field for error in raised.value.errors] == [field]
    assert raised.value.errors[0].message
    assert raised.value.requested_recipients == recipients


def test_nulls_are_allowed_under_quality_flag_n(make_submission: MakeSubmission, standing: StandingData) -> None:
    """Under qualityFlag N missing intervals may be null in every array."""
    envelope = sample_envelope("MDP1", ["LNSP1"])
    both(
        setting((*PHASE0, "qualityFlag"), "N"),
        setting((*PHASE0, "voltage", 17), None),
        setting((*PHASE0, "current", 0), None),
        setting((*PHASE0, "phaseAngle", 287), None),
    )(envelope)
    assert submit(make_submission, envelope, standing).recipients == RECIPIENTS


def test_nmi_checksum_may_be_left_out(make_submission: MakeSubmission, standing: StandingData) -> None:
    """nmiChecksum is optional."""
    envelope = sample_envelope("MDP1", ["LNSP1"])
    deleting((*DETAIL, "nmiChecksum"))(envelope)
    assert submit(make_submission, envelope, standing).recipients == RECIPIENTS


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b'{"data": ', b"\xff\xfe{}", b'"\xff"', sample_body("MDP1", ["LNSP1"])[:-1]],
    ids=["empty", "text", "truncated", "bad-utf8", "bad-utf8-in-string", "cut-short"],
)
def test_a_body_that_is_not_json_is_malformed(
    make_submission: MakeSubmission, standing: StandingData, body: bytes
) -> None:
    """Bytes that are not UTF-8 JSON raise MalformedBodyError (answered 400), not a rule violation."""
    with pytest.raises(MalformedBodyError):
        plugin.accept(make_submission(body), standing)


def test_nan_is_not_json(make_submission: MakeSubmission, standing: StandingData) -> None:
    """A NaN literal is not JSON, so the body is malformed."""
    body = sample_body("MDP1", ["LNSP1"]).replace(b'"voltage":[', b'"voltage":[NaN,', 1)
    with pytest.raises(MalformedBodyError):
        plugin.accept(make_submission(body), standing)


def test_a_number_beyond_float_range_is_named_by_its_path(
    make_submission: MakeSubmission, standing: StandingData
) -> None:
    """1e999 (infinite as a float) is refused at its path, with the recipients still known."""
    body = sample_body("MDP1", ["LNSP1"]).replace(b'"voltage":[', b'"voltage":[1e999,', 1)
    with pytest.raises(RuleViolationError) as raised:
        plugin.accept(make_submission(body), standing)
    assert [error.field for error in raised.value.errors] == [f"{PATH_PHASE0}.voltage[0]"]
    assert raised.value.requested_recipients == RECIPIENTS


def test_json_that_is_not_an_object_violates_the_schema(
    make_submission: MakeSubmission, standing: StandingData
) -> None:
    """Valid JSON of the wrong shape is a rule violation at the root, with no recipients known."""
    with pytest.raises(RuleViolationError) as raised:
        plugin.accept(make_submission(b"[1, 2]"), standing)
    assert [error.field for error in raised.value.errors] == ["$"]
    assert raised.value.requested_recipients == ()


def test_errors_stop_after_one_hundred(make_submission: MakeSubmission, standing: StandingData) -> None:
    """A body full of bad values reports its first 100 errors and one note that more follow."""
    envelope = sample_envelope("MDP1", ["LNSP1"])
    setting((*PHASE0, "voltage"), [2000.0] * 288)(envelope)
    with pytest.raises(RuleViolationError) as raised:
        submit(make_submission, envelope, standing)
    fields = [error.field for error in raised.value.errors]
    assert fields[:100] == [f"{PATH_PHASE0}.voltage[{index}]" for index in range(100)]
    assert fields[100:] == ["data"]
    assert "100" in raised.value.errors[100].message


def test_all_broken_rules_are_reported_together(make_submission: MakeSubmission, standing: StandingData) -> None:
    """Header and body errors of one envelope come back in one rejection, header first."""
    envelope = sample_envelope("MDP1", ["LNSP1"])
    both(
        setting(("data", "header", "market"), "MARS"),
        setting((*DETAIL, "nmiChecksum"), "0"),
        setting((*PHASE1, "phaseAngle", 3), 999),
    )(envelope)
    with pytest.raises(RuleViolationError) as raised:
        submit(make_submission, envelope, standing)
    assert [error.field for error in raised.value.errors] == [
        "data.header.market",
        f"{PATH_DETAIL}.nmiChecksum",
        f"{PATH_DETAIL}.phases[1].phaseAngle[3]",
    ]
