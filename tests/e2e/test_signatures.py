"""Signatures and signing certificates: only the sender's nominated, exchange-issued certificate signs a message."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from certs.signature import format_signature, sign_detached
from exchange.functions.bpqd.sample import sample_body
from simulators.client import ParticipantClient, make_csr, new_key
from tests.crafted_cms import NAMES as CRAFTED
from tests.crafted_cms import crafted, foreign_certificate
from tests.e2e.certificates import certificate_of, issue, nominate
from tests.e2e.conftest import Participants
from tests.e2e.queue_helpers import settled_queue, wait_for_queue
from tests.problems import assert_problem
from tests.signature_headers import fixed


def assert_signature_refused(response: httpx.Response) -> None:
    assert_problem(response, 403, kind="signature")


# Each builder gets the sender, a fresh participant factory and the body to be sent; it returns the x-signature.
SignatureBuilder = Callable[[ParticipantClient, Participants, bytes], Awaitable[str]]


async def over_another_body(mc: ParticipantClient, made: Participants, body: bytes) -> str:
    other = sample_body(mc.participant_id, [mc.participant_id], seed=99)
    assert other != body
    return mc.sign(other)


# One signature that does not verify and one header that cannot be read: each rule of signatures is pinned in
# tests/unit/services/test_signatures.py; here, what the refusal looks like over HTTP.
REFUSED: list[tuple[str, SignatureBuilder]] = [
    ("body changed after signing", over_another_body),
    ("no scheme", fixed("abc")),
]


@pytest.mark.parametrize("build", [b for _, b in REFUSED], ids=[name for name, _ in REFUSED])
async def test_a_signature_that_is_not_the_senders_nominated_one_over_this_body_is_refused(
    participants: Participants, build: SignatureBuilder
) -> None:
    """A valid body with a bad or malformed signature → 403 `/signature`, nothing queued."""
    mc, lnsp = await participants.mc_and_lnsp()
    body = sample_body(mc.participant_id, [lnsp.participant_id])

    response = await mc.submit(body, signature=await build(mc, participants, body))

    assert_signature_refused(response)
    assert await settled_queue(mc, lnsp) == []


@pytest.mark.parametrize("craft", CRAFTED)
async def test_a_crafted_cms_signature_is_refused_and_nothing_is_queued(participants: Participants, craft: str) -> None:
    """Zero or two signers, a content-type attribute missing, empty or different, the message digest missing, an
    embedded certificate damaged or of an invalid version (signer named by subjectKeyIdentifier), each by the
    sender's own nominated key: 403 `/signature`, never a 500, and nothing reaches the recipient's queue."""
    mc, lnsp = await participants.mc_and_lnsp()
    assert mc.certificate is not None and mc.key is not None
    body = sample_body(mc.participant_id, [lnsp.participant_id])

    response = await mc.submit(body, signature=format_signature(crafted(craft, body, mc.certificate, mc.key)))

    assert_signature_refused(response)
    assert await settled_queue(mc, lnsp) == []


async def test_a_resubmission_must_be_signed_by_the_sender_as_well(participants: Participants) -> None:
    """An accepted messageContextId sent again with the same body but a garbage, foreign or other participant's
    signature: 403 `/signature` and no receipt; only the sender's own signature gets the original receipt back."""
    mc = await participants.new("MC", ["MC"])
    other = await participants.new("MC", ["MC"])
    lnsp = await participants.new("LN", ["LNSP"], enrol=False)
    body = sample_body(mc.participant_id, [lnsp.participant_id])
    accepted = await mc.submit(body)
    assert accepted.status_code == 200, accepted.text
    context_id = accepted.json()["data"]["messageContextId"]
    foreign, foreign_key = foreign_certificate(f"{mc.participant_id}-signing")

    for signature in (
        "RSA-SHA256;" + base64.b64encode(b"garbage").decode(),
        sign_detached(body, foreign, foreign_key),
        other.sign(body),
    ):
        refused = await mc.submit(body, context_id=context_id, signature=signature)
        assert_signature_refused(refused)
        assert "receipt" not in refused.text, refused.text

    again = await mc.submit(body, context_id=context_id)
    assert again.status_code == 200, again.text
    assert again.json() == accepted.json()
    assert await settled_queue(mc, lnsp) == [context_id]


async def test_an_ec_p256_certificate_can_be_issued_and_sign(participants: Participants) -> None:
    """A CSR with an EC P-256 key → 201; nominated, its ECDSA signatures are accepted."""
    mc, lnsp = await participants.mc_and_lnsp()
    key = ec.generate_private_key(ec.SECP256R1())
    issued = await issue(mc, key)
    assert (await nominate(mc, issued["serialNumber"])).status_code == 200
    body = sample_body(mc.participant_id, [lnsp.participant_id])

    accepted = await mc.submit(body, signature=sign_detached(body, certificate_of(issued), key))

    assert accepted.status_code == 200, accepted.text
    assert await wait_for_queue(lnsp, 1) == [accepted.json()["data"]["messageContextId"]]


async def test_the_default_csr_helper_makes_an_acceptable_csr(participants: Participants) -> None:
    """A good RSA 2048 CSR for oneself → 201, active, unnominated."""
    mc = await participants.new("MC", ["MC"], enrol=False)

    response = await mc.http.post(
        "/certs/v1/certificates", json={"csr": make_csr(new_key(), f"{mc.participant_id}-ok")}, headers=mc.headers()
    )

    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["status"] == "active"
    assert data["serialNumber"] == format(certificate_of(data).serial_number, "x")
