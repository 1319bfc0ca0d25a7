"""Recipient-signed deletes from outside: the sender reads the acknowledgement and checks it with openssl; a delete
signed with someone else's certificate is refused and the message stays; reconciliation answers with one digest."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest

from certs.signature import parse_signature_header
from exchange.functions.bpqd.sample import sample_body
from simulators.client import ParticipantClient
from tests.e2e.queue_helpers import wait_for_queue
from tests.e2e.read_side import Join, eventually
from tests.harness import ServerProcess
from tests.problems import assert_problem

needs_openssl = pytest.mark.interop  # `make test` installs openssl: a missing one fails, never skips


async def sent_and_queued(
    sender: ParticipantClient, recipient: ParticipantClient, seed: int, queued_before: int = 0
) -> dict[str, Any]:
    """Submit one BPQD message to `recipient` and wait until it is queued after `queued_before` others; the
    receipt's data."""
    response = await sender.submit(sample_body(sender.participant_id, [recipient.participant_id], seed=seed))
    assert response.status_code == 200, response.text
    receipt: dict[str, Any] = response.json()["data"]
    assert receipt["messageContextId"] in await wait_for_queue(recipient, queued_before + 1)
    return receipt


async def acknowledgements(client: ParticipantClient, context_id: str) -> Any:
    return await client.http.get(f"/idx/v1/translog/{context_id}/acknowledgements", headers=client.headers())


def openssl_cms_verify(workdir: Path, der: str, content: str, ca: str) -> subprocess.CompletedProcess[str]:
    """`openssl cms -verify` of a detached DER signature over `content`, against the CA alone."""
    command = ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", der, "-content", content]
    return subprocess.run(
        [*command, "-CAfile", ca, "-out", "/dev/null"], capture_output=True, text=True, cwd=workdir, check=False
    )


@needs_openssl
async def test_a_signed_delete_reaches_the_senders_acknowledgements_and_openssl_verifies_it(
    join: Join, tmp_path: Path
) -> None:
    """The LNSP deletes with its signature over messageContextId|payloadSha256; the MC reads it and openssl checks it
    against the CA; the receiver and a third participant get 404 for the acknowledgements."""
    mc = await join("MC", ["MC"])
    lnsp = await join("LNSP", ["LNSP"])
    outsider = await join("LNSP", ["LNSP"], enrol=False)
    receipt = await sent_and_queued(mc, lnsp, seed=1)
    context_id = receipt["messageContextId"]
    fetched = await lnsp.fetch(context_id)
    assert hashlib.sha256(fetched.content).hexdigest() == receipt["payloadSha256"]

    deleted = await lnsp.delete(context_id, signature=lnsp.acknowledge(context_id, fetched.content))

    assert deleted.status_code == 204, deleted.text
    answer = await acknowledgements(mc, context_id)
    assert answer.status_code == 200, answer.text
    [acknowledged] = answer.json()["data"]
    assert acknowledged["recipient"] == lnsp.participant_id and acknowledged["deletedDateTime"]
    ca_pem = (await mc.http.get("/certs/v1/hub", headers=mc.headers())).json()["data"]["caCertificate"]
    (tmp_path / "ca.pem").write_text(ca_pem)
    (tmp_path / "ack.der").write_bytes(parse_signature_header(acknowledged["signature"]))
    (tmp_path / "ack.content").write_text(f"{context_id}|{receipt['payloadSha256']}")
    verified = openssl_cms_verify(tmp_path, "ack.der", "ack.content", "ca.pem")
    assert verified.returncode == 0, verified.stderr
    for other in (lnsp, outsider):
        assert_problem(await acknowledgements(other, context_id), 404)


async def test_a_delete_signed_with_another_participants_certificate_is_refused_and_the_message_stays(
    join: Join,
) -> None:
    """403 with problem type /signature, the message is still listed and fetchable, and nothing is acknowledged."""
    mc = await join("MC", ["MC"])
    lnsp = await join("LNSP", ["LNSP"])
    impostor = await join("LNSP", ["LNSP"])
    context_id = (await sent_and_queued(mc, lnsp, seed=2))["messageContextId"]
    payload = (await lnsp.fetch(context_id)).content

    refused = await lnsp.delete(context_id, signature=impostor.acknowledge(context_id, payload))

    assert_problem(refused, 403, kind="signature")
    assert context_id in await wait_for_queue(lnsp, 1)
    assert (await lnsp.fetch(context_id)).status_code == 200
    answer = await acknowledgements(mc, context_id)
    assert answer.status_code == 200 and answer.json()["data"] == []


async def test_the_catalogue_says_whether_a_resource_requires_signed_deletes(
    server: ServerProcess, operator: ParticipantClient
) -> None:
    """Every resource of the catalogue carries signedDelete; BPQD's is optional, so unsigned deletes still work."""
    answer = await operator.http.get("/idx/v1/businessFunctions", headers=operator.headers())
    assert answer.status_code == 200, answer.text
    shown = {
        (function["businessFunctionId"], resource["businessFunctionResourceId"]): resource["signedDelete"]
        for function in answer.json()["data"]
        for resource in function["resources"]
    }
    assert set(shown.values()) <= {"optional", "required"}
    assert shown[("pqd", "bpqd")] == "optional"


async def test_reconcile_gives_both_parties_the_same_digest_and_pages_the_ids(join: Join) -> None:
    """What the MC sent to one LNSP and what that LNSP received have one digest, the SHA-256 of the sorted ids."""
    mc = await join("MC", ["MC"])
    lnsp = await join("LNSP", ["LNSP"], enrol=False)
    sent = sorted(
        [(await sent_and_queued(mc, lnsp, seed=10 + n, queued_before=n))["messageContextId"] for n in range(3)]
    )
    digest = hashlib.sha256("\n".join(sent).encode()).hexdigest()

    async def reconciled(client: ParticipantClient, direction: str, **params: Any) -> dict[str, Any]:
        answer = await client.http.get(
            "/idx/v1/reconcile", params={"direction": direction, **params}, headers=client.headers()
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        assert body["data"]["count"] == 3, body
        return body

    received = await eventually(lambda: reconciled(lnsp, "received"))
    first = await reconciled(mc, "sent", itemCount=2)
    rest = await reconciled(mc, "sent", itemCount=2, cursor=first["meta"]["nextCursor"])

    assert received["data"]["digest"] == first["data"]["digest"] == rest["data"]["digest"] == digest
    assert first["data"]["messageContextIds"] + rest["data"]["messageContextIds"] == sent
    assert rest["meta"]["nextCursor"] is None
    assert_problem(await mc.http.get("/idx/v1/reconcile", params={"direction": "both"}, headers=mc.headers()), 400)
