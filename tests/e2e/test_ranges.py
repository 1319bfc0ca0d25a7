"""Inputs out of range or out of place, over HTTP: an oversized watermark, a cell that a spreadsheet would run
as a formula, a signature without its exact prefix, a reading sent to the wrong network, and the participant list
that grows. Each is refused with a clear 4xx naming what is wrong, and nothing broken is stored."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from certs.participant import build_csr
from exchange.functions.bids.sample import sample_bids
from exchange.functions.bpqd.nmi import nmi_checksum
from exchange.functions.bpqd.sample import sample_body, sample_envelope
from simulators.client import ParticipantClient
from tests.conformance.market import Market
from tests.e2e.conftest import Participants
from tests.e2e.read_side import eventually
from tests.e2e.test_bad_input import submit_headers
from tests.problems import assert_problem

pytestmark = pytest.mark.e2e

PQD = "/pqd/v1/bpqd"


async def test_an_oversized_watermark_is_a_422_and_participant_status_still_answers(
    participants: Participants, operator: ParticipantClient
) -> None:
    """`"high": 99999999999999999999999` is refused naming `high`; status and sane watermarks work afterwards."""
    lnsp = await participants.new("LNSP", ["LNSP"], enrol=False)
    path = f"/admin/v1/participants/{lnsp.participant_id}/flowcontrol/pqd"

    oversized = b'{"low": 1, "warn": 2, "high": 99999999999999999999999}'
    json_headers = operator.headers(**{"Content-Type": "application/json"})
    refused = await operator.http.put(path, content=oversized, headers=json_headers)
    assert_problem(refused, 422, ["high"])

    status = await operator.http.get(
        "/idx/v1/participantStatus", params={"participantId": lnsp.participant_id}, headers=operator.headers()
    )
    assert status.status_code == 200, status.text
    sane = await operator.http.put(path, json={"low": 1, "warn": 2, "high": 3}, headers=operator.headers())
    assert sane.status_code == 200, sane.text
    assert sane.json()["data"]["watermarks"] == {"low": 1, "warn": 2, "high": 3}


FORMULA_STARTS = ("=", "+", "-", "@")


def cells_of(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


async def test_no_cell_of_the_translog_csv_starts_like_a_formula_from_the_api_or_the_web_app(
    participants: Participants, operator: ParticipantClient
) -> None:
    """A refused submission's `=HYPERLINK(...)` context id comes out quoted with `'` in both CSV exports."""
    mc = await participants.new("MC", ["MC"])
    lnsp = await participants.new("LNSP", ["LNSP"], enrol=False)
    formula = '=HYPERLINK("https://evil.example","open")'
    body = sample_body(mc.participant_id, [lnsp.participant_id])
    refused = await mc.http.post(PQD, content=body, headers=submit_headers(mc, body, context_id=formula))
    assert_problem(refused, 400)

    query = {"initiatingParticipantId": mc.participant_id}
    assert operator.token is not None
    as_csv = operator.headers(Accept="text/csv")
    signed_in = {"Cookie": f"idx_session={operator.token}"}

    async def exported(path: str, headers: dict[str, str]) -> list[str]:
        answer = await operator.http.get(path, params=query, headers=headers)
        assert answer.status_code == 200, answer.text
        cells = cells_of(answer.text)
        assert "'" + formula in cells  # once the log has the refusal
        return cells

    for path, headers in (("/idx/v1/translog", as_csv), ("/app/translog.csv", signed_in)):
        cells = await eventually(lambda: exported(path, headers))  # noqa: B023 (awaited in this iteration)
        assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]


async def test_the_participant_list_is_cursor_paged_with_meta(
    participants: Participants, operator: ParticipantClient
) -> None:
    """GET /admin/v1/participants?itemCount=1 answers meta and a nextCursor that leads on to the next participant."""
    await participants.new("MC", ["MC"], enrol=False)
    first = await operator.http.get("/admin/v1/participants", params={"itemCount": 1}, headers=operator.headers())
    assert first.status_code == 200, first.text
    answer = first.json()
    meta = answer["meta"]
    assert len(answer["data"]) == meta["itemCount"] == 1
    assert meta["totalRecords"] >= 2 and meta["totalPages"] == meta["totalRecords"]

    params = {"itemCount": 1, "cursor": meta["nextCursor"]}
    second = await operator.http.get("/admin/v1/participants", params=params, headers=operator.headers())
    assert second.status_code == 200, second.text
    assert second.json()["data"][0]["participantId"] != answer["data"][0]["participantId"]

    too_many = await operator.http.get("/admin/v1/participants", params={"itemCount": 501}, headers=operator.headers())
    assert_problem(too_many, 400)


async def test_readings_of_an_nmi_sent_to_another_network_than_its_lnsp_are_a_422(
    participants: Participants, operator: ParticipantClient
) -> None:
    """An NMI on LNSP1's network, sent to LNSP2: 422 naming `data.transactions[0].nmiDetails[0].nmi`."""
    mc = await participants.new("MC", ["MC", "MDP"])
    own, other = [await participants.new("LNSP", ["LNSP"], enrol=False) for _ in range(2)]
    nmi = f"6003{secrets.randbelow(1_000_000):06d}"
    record = {"nmi": nmi, "mc": mc.participant_id, "mdp": mc.participant_id, "lnsp": own.participant_id}
    recorded = await operator.http.post(
        "/admin/v1/nmis", json={**record, "fromDate": "2026-01-01"}, headers=operator.headers()
    )
    assert recorded.status_code == 201, recorded.text

    def readings_to(recipient: ParticipantClient) -> bytes:
        envelope: Any = sample_envelope(mc.participant_id, [recipient.participant_id], reading_date="2026-07-01")
        detail = envelope["data"]["transactions"][0]["nmiDetails"][0]
        detail["nmi"], detail["nmiChecksum"] = nmi, nmi_checksum(nmi)
        return msgspec.json.encode(envelope)

    problem = assert_problem(await mc.submit(readings_to(other)), 422, ["data.transactions[0].nmiDetails[0].nmi"])
    assert other.participant_id in problem["errors"][0]["message"]
    accepted = await mc.submit(readings_to(own))
    assert accepted.status_code == 200, accepted.text


@pytest.mark.parametrize(
    "rewrite",
    [lambda prefix, encoded: encoded, lambda prefix, encoded: f"{prefix} ;{encoded}"],
    ids=["bare base64", "space before the separator"],
)
async def test_a_good_cms_without_its_exact_prefix_is_a_403_signature(
    participants: Participants, rewrite: Callable[[str, str], str]
) -> None:
    """The sender's valid CMS as bare base64, or as `RSA-SHA256 ;...`, is refused with problem type /signature."""
    mc = await participants.new("MC", ["MC"])
    lnsp = await participants.new("LNSP", ["LNSP"], enrol=False)
    body = sample_body(mc.participant_id, [lnsp.participant_id])
    prefix, _, encoded = mc.sign(body).partition(";")
    assert prefix == "RSA-SHA256"  # the simulators' participants sign with RSA keys

    refused = await mc.submit(body, signature=rewrite(prefix, encoded))
    assert_problem(refused, 403, kind="signature")
    accepted = await mc.submit(body)
    assert accepted.status_code == 200, accepted.text


async def test_a_2_mb_participant_name_and_an_rsa_key_over_4096_bits_are_422s_naming_the_field(
    participants: Participants, operator: ParticipantClient
) -> None:
    """A participant with a 2 MB name → 422 `name`; a certificate for an RSA-4104 CSR → 422 `csr`."""
    body = {"participantId": "HUGE1", "name": "N" * 2_000_000, "roles": ["MC"]}
    refused = await operator.http.post("/admin/v1/participants", json=body, headers=operator.headers())
    assert_problem(refused, 422, ["name"])

    mc = await participants.new("MC", ["MC"], enrol=False)
    long_key = rsa.generate_private_key(public_exponent=65537, key_size=4104)
    csr = build_csr(long_key, f"{mc.participant_id}-signing").decode()
    issued = await mc.http.post("/certs/v1/certificates", json={"csr": csr}, headers=mc.headers())
    assert_problem(issued, 422, ["csr"])


async def test_bid_prices_and_ramp_rates_of_1e23_are_422s_naming_each(
    participants: Participants, operator: ParticipantClient
) -> None:
    """submitBids with a price and a ramp rate of 1e23 names `prices[0]` and `rampUpRate`; nothing is stored."""
    market = Market(participants.server, operator)
    try:
        gen = await market.generator()
        duid = await market.duid(gen, 400.0)
        bids: Any = sample_bids([duid])
        bids["energyBids"][0]["prices"][0] = 1e23
        bids["energyBids"][0]["energyPeriods"][0]["rampUpRate"] = 1e23
        headers = gen.headers(**{"Content-Type": "application/json"})
        refused = await gen.http.post("/bids/v1/submitBids", content=msgspec.json.encode(bids), headers=headers)
        assert_problem(refused, 422, ["energyBids[0].prices[0]", "energyBids[0].energyPeriods[0].rampUpRate"])
        stored = await gen.http.get(
            "/bids/v1/bids", params={"tradingDate": "2026-07-01", "duid": duid}, headers=gen.headers()
        )
        assert stored.status_code == 404, stored.text
    finally:
        await market.close()
