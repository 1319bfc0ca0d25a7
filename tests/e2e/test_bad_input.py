"""Bad input to POST and GET /pqd/v1/bpqd: the right 4xx with problem details, never a 5xx, nothing delivered."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest

from exchange.functions.bpqd.sample import sample_body, sample_envelope
from simulators.client import ParticipantClient, new_context_id
from tests.e2e.conftest import Participants
from tests.e2e.queue_helpers import settled_queue
from tests.problems import assert_problem

MIB = 1024 * 1024
PATH = "/pqd/v1/bpqd"
# How long a rejected message would have had to reach a queue, had it been (wrongly) accepted.


@dataclass(frozen=True)
class Sent:
    """One POST as it goes on the wire."""

    content: bytes
    headers: dict[str, str]


def submit_headers(
    mc: ParticipantClient, body: bytes, *, priority: str = "Medium", context_id: str | None = None
) -> dict[str, str]:
    """Every header a good submission of `body` carries, identity-encoded."""
    return mc.headers(
        **{
            "x-initiatingParticipantId": mc.participant_id,
            "x-messageContextId": context_id or new_context_id("pqd", "bpqd", priority, mc.participant_id),
            "x-signature": mc.sign(body),
            "Content-Type": "application/json",
        }
    )


def gzipped(mc: ParticipantClient, body: bytes, **header_options: Any) -> Sent:
    return Sent(gzip.compress(body), {**submit_headers(mc, body, **header_options), "Content-Encoding": "gzip"})


def good_body(mc: ParticipantClient, lnsp: ParticipantClient) -> bytes:
    return sample_body(mc.participant_id, [lnsp.participant_id])


def good_message(mc: ParticipantClient, lnsp: ParticipantClient) -> tuple[bytes, str]:
    """A valid body from `mc` to `lnsp`, and a messageContextId of `mc`'s not used yet."""
    return good_body(mc, lnsp), new_context_id("pqd", "bpqd", "Medium", mc.participant_id)


def edited(mc: ParticipantClient, lnsp: ParticipantClient, edit: Callable[[Any], None]) -> Sent:
    """A signed, gzipped submission of the sample envelope after `edit` changed it."""
    envelope: Any = sample_envelope(mc.participant_id, [lnsp.participant_id])
    edit(envelope)
    return gzipped(mc, msgspec.json.encode(envelope))


def without(header: str) -> Callable[[ParticipantClient, ParticipantClient], Sent]:
    def build(mc: ParticipantClient, lnsp: ParticipantClient) -> Sent:
        sent = gzipped(mc, good_body(mc, lnsp))
        del sent.headers[header]
        return sent

    return build


def with_context_id(make: Callable[[str], str]) -> Callable[[ParticipantClient, ParticipantClient], Sent]:
    """A good submission whose x-messageContextId is `make(participant id)`."""

    def build(mc: ParticipantClient, lnsp: ParticipantClient) -> Sent:
        return gzipped(mc, good_body(mc, lnsp), context_id=make(mc.participant_id))

    return build


def not_json(mc: ParticipantClient, lnsp: ParticipantClient) -> Sent:
    return gzipped(mc, b'{"data": {"header": ')


def not_utf8(mc: ParticipantClient, lnsp: ParticipantClient) -> Sent:
    return gzipped(mc, good_body(mc, lnsp).replace(b'"NEM"', b'"N\xffM"'))


def truncated_gzip(mc: ParticipantClient, lnsp: ParticipantClient) -> Sent:
    sent = gzipped(mc, good_body(mc, lnsp))
    return Sent(sent.content[: len(sent.content) // 2], sent.headers)


def corrupt_gzip(mc: ParticipantClient, lnsp: ParticipantClient) -> Sent:
    sent = gzipped(mc, good_body(mc, lnsp))
    middle = len(sent.content) // 2
    flipped = bytes(b ^ 0xFF for b in sent.content[middle : middle + 16])
    return Sent(sent.content[:middle] + flipped + sent.content[middle + 16 :], sent.headers)


def gzip_header_on_plain_json(mc: ParticipantClient, lnsp: ParticipantClient) -> Sent:
    body = good_body(mc, lnsp)
    return Sent(body, {**submit_headers(mc, body), "Content-Encoding": "gzip"})


def brotli(mc: ParticipantClient, lnsp: ParticipantClient) -> Sent:
    body = good_body(mc, lnsp)
    return Sent(body, {**submit_headers(mc, body), "Content-Encoding": "br"})


def identity_of(size: int) -> Callable[[ParticipantClient, ParticipantClient], Sent]:
    """A JSON body of exactly `size` bytes, sent without compression."""

    def build(mc: ParticipantClient, lnsp: ParticipantClient) -> Sent:
        frame = b'{"data":""}'
        body = frame[:9] + b"x" * (size - len(frame)) + frame[9:]
        assert len(body) == size
        return Sent(body, submit_headers(mc, body))

    return build


def over_limit_gzip(mc: ParticipantClient, lnsp: ParticipantClient) -> Sent:
    """Valid JSON of 10 MiB + 1 byte, gzip-compressed to a small upload."""
    body = b'{"data":"' + b" " * (10 * MIB - 10) + b'"}'
    assert len(body) == 10 * MIB + 1
    return Sent(gzip.compress(body), {**submit_headers(mc, body), "Content-Encoding": "gzip"})


def priority_disagrees(mc: ParticipantClient, lnsp: ParticipantClient) -> Sent:
    body = sample_body(mc.participant_id, [lnsp.participant_id], priority="Medium")
    return gzipped(mc, body, priority="High")


def voltage_2000(envelope: Any) -> None:
    envelope["data"]["transactions"][0]["nmiDetails"][0]["phases"][0]["voltage"][3] = 2000


def unknown_recipient_first(envelope: Any) -> None:
    envelope["data"]["header"]["receivingParticipantId"].insert(0, "ZZNOBODY")


def message_id_number(envelope: Any) -> None:
    envelope["data"]["header"]["messageId"] = 12345


def interval_length_string(envelope: Any) -> None:
    envelope["data"]["transactions"][0]["nmiDetails"][0]["intervalLength"] = "5"


def unknown_market(envelope: Any) -> None:
    envelope["data"]["header"]["market"] = "MOON"


def unknown_schema_version(mc: ParticipantClient, lnsp: ParticipantClient) -> Sent:
    sent = gzipped(mc, good_body(mc, lnsp))
    sent.headers["x-schemaVersion"] = "9.9"
    return sent


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[ParticipantClient, ParticipantClient], Sent]
    status: int
    fields: list[str] | None = None


NMI0 = "data.transactions[0].nmiDetails[0]"
CASES = [
    Case("missing x-messageContextId", without("x-messageContextId"), 400),
    Case("missing x-initiatingParticipantId", without("x-initiatingParticipantId"), 400),
    Case("missing x-signature", without("x-signature"), 400),
    Case("malformed x-messageContextId", with_context_id(lambda _: "not-a-context-id"), 400),
    Case("context id with five parts but bad priority letter", with_context_id(lambda p: f"pqd~bpqd~x~{p}~abc"), 400),
    Case("body is not JSON", not_json, 400),
    Case("body is not UTF-8", not_utf8, 400),
    Case("truncated gzip", truncated_gzip, 400),
    Case("corrupt gzip", corrupt_gzip, 400),
    Case("gzip declared, identity sent", gzip_header_on_plain_json, 400),
    Case("Content-Encoding br", brotli, 415),
    Case("identity body of 10 MiB + 1 byte", identity_of(10 * MIB + 1), 413),
    Case("identity body of 12 MiB", identity_of(12 * MIB), 413),
    Case("gzip body of 10 MiB + 1 byte once decompressed", over_limit_gzip, 413),
    Case(
        "context id participant disagrees with header",
        with_context_id(lambda _: "pqd~bpqd~m~ZZOTHER~abc"),
        422,
        ["x-messageContextId"],
    ),
    Case(
        "context id business function disagrees with path",
        with_context_id(lambda p: f"gr~bpqd~m~{p}~abc"),
        422,
        ["x-messageContextId"],
    ),
    Case(
        "context id resource disagrees with path",
        with_context_id(lambda p: f"pqd~recall~m~{p}~abc"),
        422,
        ["x-messageContextId"],
    ),
    Case("priority letter disagrees with envelope", priority_disagrees, 422, ["data.header.priority"]),
    Case(
        "voltage of 2000 V",
        lambda mc, lnsp: edited(mc, lnsp, voltage_2000),
        422,
        [f"{NMI0}.phases[0].voltage[3]"],
    ),
    Case(
        "unknown recipient",
        lambda mc, lnsp: edited(mc, lnsp, unknown_recipient_first),
        422,
        ["data.header.receivingParticipantId[0]"],
    ),
    Case("unknown market", lambda mc, lnsp: edited(mc, lnsp, unknown_market), 422, ["data.header.market"]),
    Case("unknown x-schemaVersion", unknown_schema_version, 422, ["x-schemaVersion"]),
    Case(
        "header field of the wrong type",
        lambda mc, lnsp: edited(mc, lnsp, message_id_number),
        422,
        ["data.header.messageId"],
    ),
    Case(
        "reading field of the wrong type",
        lambda mc, lnsp: edited(mc, lnsp, interval_length_string),
        422,
        [f"{NMI0}.intervalLength"],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_a_bad_submission_is_refused_and_delivers_nothing(participants: Participants, case: Case) -> None:
    """Each malformed, oversized or self-contradicting POST gets its 4xx problem and reaches no queue."""
    mc, lnsp = await participants.mc_and_lnsp()
    sent = case.build(mc, lnsp)

    response = await mc.http.post(PATH, content=sent.content, headers=sent.headers)

    assert_problem(response, case.status, case.fields)
    assert await settled_queue(mc, lnsp) == []


async def test_a_gzip_bomb_is_refused_quickly_with_413(participants: Participants) -> None:
    """50 MB of zeros, some 50 KB on the wire, is cut off at the 10 MB limit: 413 within seconds, nothing queued."""
    mc, lnsp = await participants.mc_and_lnsp()
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    headers = {**submit_headers(mc, good_body(mc, lnsp)), "Content-Encoding": "gzip"}

    response = await mc.http.post(PATH, content=bomb, headers=headers)

    assert_problem(response, 413)
    assert await settled_queue(mc, lnsp) == []


async def test_the_same_context_id_and_body_again_gives_the_original_receipt_and_one_delivery(
    participants: Participants,
) -> None:
    """A resubmission of the same message answers 200 with the identical receipt and is queued only once."""
    mc, lnsp = await participants.mc_and_lnsp()
    body, context_id = good_message(mc, lnsp)

    first = await mc.submit(body, context_id=context_id)
    assert first.status_code == 200, first.text
    again = await mc.submit(body, context_id=context_id)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    uncompressed = await mc.submit(body, context_id=context_id, compress=False)
    assert uncompressed.status_code == 200, uncompressed.text
    assert uncompressed.json() == first.json()

    assert await settled_queue(mc, lnsp) == [context_id]


async def test_the_same_context_id_with_another_body_is_a_conflict_and_the_first_stays(
    participants: Participants,
) -> None:
    """Reusing a messageContextId for a different payload answers 409; the queue keeps the first message once."""
    mc, lnsp = await participants.mc_and_lnsp()
    first_body = sample_body(mc.participant_id, [lnsp.participant_id], seed=1)
    other_body = sample_body(mc.participant_id, [lnsp.participant_id], seed=2)
    context_id = new_context_id("pqd", "bpqd", "Medium", mc.participant_id)

    first = await mc.submit(first_body, context_id=context_id)
    assert first.status_code == 200, first.text
    conflict = await mc.submit(other_body, context_id=context_id)
    assert_problem(conflict, 409)

    assert await settled_queue(mc, lnsp) == [context_id]
    fetched = await lnsp.fetch(context_id)
    assert fetched.status_code == 200
    assert fetched.content == first_body


QUERY_CASES: list[tuple[str, dict[str, str], str | None]] = [
    ("itemCount zero", {"itemCount": "0"}, "itemCount"),
    ("itemCount over 500", {"itemCount": "501"}, "itemCount"),
    ("itemCount not a number", {"itemCount": "abc"}, "itemCount"),
    ("cursor not handed out", {"cursor": "not-a-cursor!"}, None),
    ("cursor of valid base64 but nonsense", {"cursor": "Zm9vYmFy"}, None),
    ("fromDateTime without offset", {"fromDateTime": "2026-07-01T10:00:00.000"}, None),
    ("toDateTime not a timestamp", {"toDateTime": "yesterday"}, None),
    ("unknown priority", {"priority": "Urgent"}, "priority"),
]


@pytest.mark.parametrize(
    ("params", "field"), [(p, f) for _, p, f in QUERY_CASES], ids=[name for name, _, _ in QUERY_CASES]
)
async def test_a_bad_list_query_is_a_400_problem(
    participants: Participants, params: dict[str, str], field: str | None
) -> None:
    """GET /pqd/v1/bpqd with a malformed paging or filter parameter answers 400, naming the parameter if typed."""
    lnsp = await participants.new("LN", ["LNSP"], enrol=False)

    response = await lnsp.list_queue(**params)

    problem = assert_problem(response, 400)
    if field is not None:
        assert field in [error["field"] for error in problem["errors"]], problem


async def test_concurrent_copies_of_one_message_are_delivered_once_and_lose_no_other_message(
    participants: Participants,
) -> None:
    """Racing copies of one context id all get the same receipt; it and every message sent alongside are queued once."""
    mc, lnsp = await participants.mc_and_lnsp()
    copied, copied_id = good_message(mc, lnsp)
    copied_signature = mc.sign(copied)
    others = [sample_body(mc.participant_id, [lnsp.participant_id], seed=seed) for seed in range(1, 11)]

    copies = [mc.submit(copied, context_id=copied_id, signature=copied_signature) for _ in range(5)]
    answers = await asyncio.gather(*copies, *(mc.submit(body) for body in others))

    assert [answer.status_code for answer in answers] == [200] * len(answers), [a.text for a in answers]
    receipts = {answer.text for answer in answers[:5]}
    accepted = [answer.json()["data"]["messageContextId"] for answer in answers]
    expected = sorted(set(accepted))
    assert len(expected) == 1 + len(others)
    queued = await settled_queue(mc, lnsp)
    assert sorted(queued) == expected
    assert len(receipts) == 1, receipts
