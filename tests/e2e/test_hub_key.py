"""An exchange whose hub key was made as EC P-256 signs receipts and re-signatures with `ECDSA-SHA256;`, and
checks and makes signatures in a pool of processes as it does in its threads."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from certs.chain import check_issued_by
from certs.signature import verify_signature_header
from exchange.functions.bpqd.sample import sample_body
from simulators.client import operator_client
from tests.e2e.queue_helpers import PQD_SCOPES, wait_for_queue
from tests.e2e.read_side import new_participant
from tests.harness import running_server
from tests.problems import assert_problem


async def test_an_ec_hub_signs_receipts_and_payloads_that_verify_with_its_certificate(tmp_path: Path) -> None:
    """`--hub-key-type ec-p256 --signing-processes 1`: the receipt and the GET's x-signature are ECDSA by the hub,
    chaining to the CA; a signature over other bytes is still a 403 `/signature`."""
    data_dir = tmp_path / "data"
    with running_server(
        data_dir, "--rate-limit", "0", "--hub-key-type", "ec-p256", "--signing-processes", "1"
    ) as server:
        operator = await operator_client(server.base_url, server.operator_secret)
        mc = await new_participant(server, operator, "ECHUBMC", ["MC"], enrol=True, scopes=PQD_SCOPES)
        lnsp = await new_participant(server, operator, "ECHUBL", ["LNSP"], scopes=PQD_SCOPES)
        await operator.close()
        try:
            body = sample_body(mc.participant_id, [lnsp.participant_id], seed=3)
            assert_problem(await mc.submit(body, signature=mc.sign(body + b" ")), 403, kind="signature")
            accepted = await mc.submit(body)
            assert accepted.status_code == 200, accepted.text
            receipt = accepted.json()["data"]
            assert receipt["receipt"].startswith("ECDSA-SHA256;")
            signed = f"{receipt['messageContextId']}|{receipt['payloadSha256']}|{receipt['receivedDateTime']}"
            hub = verify_signature_header(receipt["receipt"], signed.encode())
            assert isinstance(hub.public_key(), ec.EllipticCurvePublicKey)
            ca = x509.load_pem_x509_certificate((data_dir / "pki" / "ca.pem").read_bytes())
            check_issued_by(hub, ca, hub.not_valid_before_utc)

            await wait_for_queue(lnsp, 1)
            fetched = await lnsp.fetch(receipt["messageContextId"])
            assert fetched.status_code == 200, fetched.text
            assert fetched.headers["x-signature"].startswith("ECDSA-SHA256;")
            assert verify_signature_header(fetched.headers["x-signature"], body) == hub
        finally:
            await mc.close()
            await lnsp.close()
