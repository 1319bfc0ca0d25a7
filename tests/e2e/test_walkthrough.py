"""The README's walk-through, from outside: token, CSR, certificate, nomination, signed gzip POST, list, get, delete."""

from __future__ import annotations

import gzip

from cryptography import x509

from certs.chain import check_issued_by
from certs.signature import parse_signature_header, verify_detached
from exchange.functions.bpqd.sample import sample_body
from tests.e2e.conftest import Participants
from tests.e2e.queue_helpers import queued_ids, wait_for_queue
from tests.problems import assert_problem


async def test_a_signed_message_travels_from_mc_to_lnsp_and_is_deleted(participants: Participants) -> None:
    """The whole path: the LNSP gets the exact bytes with both signatures, deletes it, and it is gone."""
    mc, lnsp = await participants.mc_and_lnsp(enrol_lnsp=True)
    body = sample_body(mc.participant_id, [lnsp.participant_id], priority="High", nmis=3)

    signature = mc.sign(body)
    submitted = await mc.submit(body, priority="High", signature=signature)
    assert submitted.status_code == 200, submitted.text
    receipt = submitted.json()["data"]
    context_id = receipt["messageContextId"]

    assert await wait_for_queue(lnsp, 1) == [context_id]
    listed = (await lnsp.list_queue()).json()
    item = listed["data"][0]
    assert item["initiatingParticipantId"] == mc.participant_id
    assert item["priority"] == "High"
    assert item["messageType"] == "BasicPowerQualityData"
    assert item["size"] == len(body)
    assert listed["meta"]["totalRecords"] == 1

    fetched = await lnsp.fetch(context_id)
    assert fetched.status_code == 200
    assert fetched.headers["content-encoding"] == "gzip"
    assert fetched.content == body  # httpx has already undone the gzip
    assert fetched.headers["x-initiatingparticipantid"] == mc.participant_id
    assert fetched.headers["x-original-signature"] == signature
    original_signer = verify_detached(parse_signature_header(fetched.headers["x-original-signature"]), body)
    assert original_signer == mc.certificate
    hub_signer = verify_detached(parse_signature_header(fetched.headers["x-signature"]), body)
    assert "Hub" in hub_signer.subject.rfc4514_string()

    plain = await lnsp.fetch(context_id, gzip_ok=False)
    assert "content-encoding" not in plain.headers
    assert plain.content == body

    deleted = await lnsp.delete(context_id)
    assert deleted.status_code == 204
    assert await queued_ids(lnsp) == []
    assert_problem(await lnsp.fetch(context_id), 404)
    assert_problem(await lnsp.delete(context_id), 404)


async def test_the_receipt_is_the_hubs_signature_over_context_digest_and_time(participants: Participants) -> None:
    """The receipt verifies with the hub certificate from GET /certs/v1/hub over `id|sha256|receivedDateTime`."""
    mc, lnsp = await participants.mc_and_lnsp(enrol_lnsp=True)
    body = sample_body(mc.participant_id, [lnsp.participant_id])
    data = (await mc.submit(body)).json()["data"]

    hub = (await mc.http.get("/certs/v1/hub")).json()["data"]
    ca = x509.load_pem_x509_certificate(hub["caCertificate"].encode())
    hub_certificate = x509.load_pem_x509_certificate(hub["hubCertificate"].encode())
    signed = f"{data['messageContextId']}|{data['payloadSha256']}|{data['receivedDateTime']}".encode()
    signer = verify_detached(parse_signature_header(data["receipt"]), signed)
    assert signer == hub_certificate
    check_issued_by(signer, ca, signer.not_valid_before_utc)
    assert gzip.decompress(gzip.compress(body)) == body
