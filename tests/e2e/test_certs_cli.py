"""`idx certs` as a participant (and the operator) would run it: subprocesses, files, a running exchange."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from certs.authority import CertificateAuthority
from certs.signature import parse_signature_header
from exchange.functions.bpqd.sample import sample_body
from simulators.client import ParticipantClient, operator_client
from tests.e2e.conftest import Participants
from tests.e2e.queue_helpers import wait_for_queue
from tests.harness import ServerProcess, running_server
from tests.openssl import openssl

IDX = Path(sys.executable).parent / "idx"
BODY = b'{"header": {"messageId": "m-1"},\n "data": [1, 2, 3]}\n'

needs_openssl = pytest.mark.interop  # `make test` installs openssl: a missing one fails, never skips


def idx(*arguments: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(IDX), "certs", *map(str, arguments)], capture_output=True, text=True, check=False, cwd=cwd
    )


@pytest.fixture(scope="module")
def local_ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    """An exchange CA on disk, standing in for the server for the offline commands."""
    return CertificateAuthority.load_or_create(tmp_path_factory.mktemp("local-ca"), datetime.now(UTC))


@pytest.fixture(scope="module")
def enrolled(tmp_path_factory: pytest.TempPathFactory, local_ca: CertificateAuthority) -> dict[str, Path]:
    """MC1's key and CSR made by `idx certs csr`, its certificate from the local CA, the CA and a body on disk."""
    work = tmp_path_factory.mktemp("mc1")
    made = idx("csr", "--participant", "MC1", cwd=work)
    assert made.returncode == 0, made.stderr
    certificate = local_ca.issue((work / "mc1.csr").read_bytes(), "MC1", datetime.now(UTC))
    (work / "mc1.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (work / "ca.pem").write_text(local_ca.ca_pem())
    (work / "body.json").write_bytes(BODY)
    return {
        name: work / f for name, f in [("key", "mc1.key"), ("cert", "mc1.pem"), ("ca", "ca.pem"), ("body", "body.json")]
    }


# --- csr -----------------------------------------------------------------------------------------------------


def test_csr_writes_an_owner_only_rsa_key_and_a_csr_named_for_the_participant(tmp_path: Path) -> None:
    """`idx certs csr --participant MC1` writes an RSA-2048 key (0600) and a CSR with CN MC1-signing."""
    made = idx("csr", "--participant", "MC1", "--key-out", tmp_path / "k.pem", "--csr-out", tmp_path / "r.csr")
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600
    key = serialization.load_pem_private_key((tmp_path / "k.pem").read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    csr = x509.load_pem_x509_csr((tmp_path / "r.csr").read_bytes())
    assert csr.is_signature_valid
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "MC1-signing"
    assert csr.public_key() == key.public_key()


def test_csr_with_ec_makes_a_p256_key(tmp_path: Path) -> None:
    """--ec makes an EC P-256 key instead of RSA."""
    made = idx("csr", "--participant", "MDP7", "--ec", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    key = serialization.load_pem_private_key((tmp_path / "mdp7.key").read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)
    assert stat.S_IMODE((tmp_path / "mdp7.key").stat().st_mode) == 0o600


def test_csr_never_overwrites_a_key_unless_forced(tmp_path: Path) -> None:
    """A second run refuses (exit 1) and leaves the key as it was; --force replaces it."""
    assert idx("csr", "--participant", "MC1", cwd=tmp_path).returncode == 0
    before = (tmp_path / "mc1.key").read_bytes()
    again = idx("csr", "--participant", "MC1", cwd=tmp_path)
    assert again.returncode == 1 and "exists" in again.stderr
    assert (tmp_path / "mc1.key").read_bytes() == before
    assert idx("csr", "--participant", "MC1", "--force", cwd=tmp_path).returncode == 0
    assert (tmp_path / "mc1.key").read_bytes() != before


@pytest.mark.parametrize(
    ("arguments", "status", "says"),
    [
        (["--participant", "mc1"], 2, "participant id"),
        (["--participant", "MC1", "--common-name", "MC2-signing"], 1, "must begin with the participant id"),
    ],
    ids=["lowercase id", "cn of another participant"],
)
def test_csr_refuses_what_the_exchange_would_refuse(
    tmp_path: Path, arguments: list[str], status: int, says: str
) -> None:
    """A bad participant id or CN is refused before any file is written."""
    made = idx("csr", *arguments, cwd=tmp_path)
    assert made.returncode == status
    assert says in made.stderr
    assert list(tmp_path.iterdir()) == []


# --- sign and verify offline ---------------------------------------------------------------------------------


def test_a_signature_made_by_sign_verifies_and_names_the_signer(enrolled: dict[str, Path], tmp_path: Path) -> None:
    """`sign` prints RSA-SHA256;<base64 CMS>; `verify` (inline and @file) accepts it and prints subject and serial."""
    signed = idx("sign", "--key", enrolled["key"], "--cert", enrolled["cert"], enrolled["body"])
    assert signed.returncode == 0, signed.stderr
    signature = signed.stdout.strip()
    assert signature.startswith("RSA-SHA256;")
    serial = format(x509.load_pem_x509_certificate(enrolled["cert"].read_bytes()).serial_number, "x")
    (tmp_path / "sig.txt").write_text(signature)
    for given in (signature, f"@{tmp_path / 'sig.txt'}"):
        verified = idx("verify", "--signature", given, "--ca", enrolled["ca"], enrolled["body"])
        assert verified.returncode == 0, verified.stderr
        assert "signature OK" in verified.stdout
        assert "CN=MC1-signing" in verified.stdout
        assert f"serial: {serial}" in verified.stdout


def test_verify_fails_with_the_reason_for_altered_content_or_another_ca(
    enrolled: dict[str, Path], tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Exit 1 and a reason on stderr when the file changed or the CA is not the signer's."""
    signature = idx("sign", "--key", enrolled["key"], "--cert", enrolled["cert"], enrolled["body"]).stdout.strip()
    altered = tmp_path / "altered.json"
    altered.write_bytes(BODY.replace(b"3", b"4"))
    failed = idx("verify", "--signature", signature, "--ca", enrolled["ca"], altered)
    assert failed.returncode == 1
    assert "signature FAILED" in failed.stderr and "digest does not match" in failed.stderr
    other = CertificateAuthority.load_or_create(tmp_path_factory.mktemp("other-ca"), datetime.now(UTC))
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_text(other.ca_pem())
    foreign = idx("verify", "--signature", signature, "--ca", other_ca, enrolled["body"])
    assert foreign.returncode == 1
    assert "does not chain to the exchange CA" in foreign.stderr


def test_sign_refuses_a_key_that_is_not_the_certificates(enrolled: dict[str, Path], tmp_path: Path) -> None:
    """Signing with a key the certificate does not certify is refused (exit 1) instead of making a bad signature."""
    assert idx("csr", "--participant", "MC1", cwd=tmp_path).returncode == 0
    refused = idx("sign", "--key", tmp_path / "mc1.key", "--cert", enrolled["cert"], enrolled["body"])
    assert refused.returncode == 1
    assert "does not belong to the certificate" in refused.stderr
    assert refused.stdout == ""


@needs_openssl
def test_sign_and_verify_interoperate_with_openssl_cms(enrolled: dict[str, Path], tmp_path: Path) -> None:
    """openssl verifies what `sign` makes; `verify --signature @file.der` accepts what `openssl cms -sign` makes."""
    signature = idx("sign", "--key", enrolled["key"], "--cert", enrolled["cert"], enrolled["body"]).stdout.strip()
    ours = tmp_path / "ours.der"
    ours.write_bytes(parse_signature_header(signature))
    checked = openssl(
        "cms", "-verify", "-binary", "-inform", "DER", "-in", ours, "-content", enrolled["body"],
        "-CAfile", enrolled["ca"], "-out", "/dev/null",
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    theirs = tmp_path / "theirs.der"
    made = openssl(
        "cms", "-sign", "-binary", "-outform", "DER", "-signer", enrolled["cert"], "-inkey", enrolled["key"],
        "-in", enrolled["body"], "-out", theirs,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    verified = idx("verify", "--signature", f"@{theirs}", "--ca", enrolled["ca"], enrolled["body"])
    assert verified.returncode == 0, verified.stderr


# --- against a running exchange ------------------------------------------------------------------------------


async def test_the_whole_participant_loop_runs_on_idx_certs_alone(participants: Participants, tmp_path: Path) -> None:
    """csr → POST certificate → nominate → `idx certs sign` → submit 200 → `idx certs verify-receipt` OK."""
    mc = await participants.new("MC", ["MC"], enrol=False)
    lnsp = await participants.new("LN", ["LNSP"])
    pid = mc.participant_id
    assert idx("csr", "--participant", pid, cwd=tmp_path).returncode == 0
    key, csr, cert = (tmp_path / f"{pid.lower()}.{suffix}" for suffix in ("key", "csr", "pem"))
    issued = await mc.http.post("/certs/v1/certificates", json={"csr": csr.read_text()}, headers=mc.headers())
    assert issued.status_code == 201, issued.text
    cert.write_text(issued.json()["data"]["certificate"])
    nominated = await mc.http.put(
        "/certs/v1/nominations", json={"primary": issued.json()["data"]["serialNumber"]}, headers=mc.headers()
    )
    assert nominated.status_code == 200
    ca = tmp_path / "ca.pem"
    ca.write_text((await mc.http.get("/certs/v1/hub")).json()["data"]["caCertificate"])

    body = tmp_path / "body.json"
    body.write_bytes(sample_body(pid, [lnsp.participant_id]))
    signed = idx("sign", "--key", key, "--cert", cert, body)
    assert signed.returncode == 0, signed.stderr
    submitted = await mc.submit(body.read_bytes(), signature=signed.stdout.strip())
    assert submitted.status_code == 200, submitted.text
    receipt = tmp_path / "receipt.json"
    receipt.write_text(submitted.text)

    verified = idx("verify-receipt", "--ca", ca, "--payload", body, receipt)
    assert verified.returncode == 0, verified.stderr
    assert "receipt OK" in verified.stdout and "CN=IDX Exchange Hub" in verified.stdout
    assert submitted.json()["data"]["messageContextId"] in verified.stdout

    # What the LNSP receives verifies the same way: the hub's re-signature and the sender's original.
    context_id = submitted.json()["data"]["messageContextId"]
    assert await wait_for_queue(lnsp, 1) == [context_id]
    fetched = await lnsp.fetch(context_id)
    delivered = tmp_path / "delivered.json"
    delivered.write_bytes(fetched.content)
    for header, signer in (("x-signature", "CN=IDX Exchange Hub"), ("x-original-signature", f"CN={pid}-signing")):
        checked = idx("verify", "--signature", fetched.headers[header], "--ca", ca, delivered)
        assert checked.returncode == 0, checked.stderr
        assert signer in checked.stdout


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("receivedDateTime", "2020-01-01T00:00:00.000+10:00"),
        ("payloadSha256", "0" * 64),
        ("messageContextId", "pqd~bpqd~m~MC1~forged"),
    ],
)
async def test_a_tampered_receipt_fails_verification(
    participants: Participants, tmp_path: Path, field: str, value: str
) -> None:
    """Changing any signed field of a genuine receipt makes `verify-receipt` exit 1 with the reason."""
    mc, lnsp = await participants.mc_and_lnsp()
    submitted = await mc.submit(sample_body(mc.participant_id, [lnsp.participant_id]))
    assert submitted.status_code == 200, submitted.text
    ca = tmp_path / "ca.pem"
    ca.write_text((await mc.http.get("/certs/v1/hub")).json()["data"]["caCertificate"])
    genuine, tampered = tmp_path / "genuine.json", tmp_path / "tampered.json"
    genuine.write_text(submitted.text)
    document = submitted.json()
    document["data"][field] = value
    tampered.write_text(json.dumps(document))
    assert idx("verify-receipt", "--ca", ca, genuine).returncode == 0
    failed = idx("verify-receipt", "--ca", ca, tampered)
    assert failed.returncode == 1
    assert "receipt FAILED" in failed.stderr
    assert "does not verify" in failed.stderr or "digest does not match" in failed.stderr


async def test_verify_receipt_with_another_payload_fails(participants: Participants, tmp_path: Path) -> None:
    """--payload with bytes other than those submitted fails naming both digests."""
    mc, lnsp = await participants.mc_and_lnsp()
    body = sample_body(mc.participant_id, [lnsp.participant_id])
    submitted = await mc.submit(body)
    ca, receipt, other = tmp_path / "ca.pem", tmp_path / "receipt.json", tmp_path / "other.json"
    ca.write_text((await mc.http.get("/certs/v1/hub")).json()["data"]["caCertificate"])
    receipt.write_text(submitted.text)
    other.write_bytes(body + b" ")
    failed = idx("verify-receipt", "--ca", ca, "--payload", other, receipt)
    assert failed.returncode == 1
    assert submitted.json()["data"]["payloadSha256"] in failed.stderr


# --- hub key rollover ----------------------------------------------------------------------------------------


@needs_openssl
async def test_receipts_from_before_a_hub_rollover_still_verify_against_the_ca(tmp_path: Path) -> None:
    """Stop, `idx certs rotate-hub`, start: a new hub signs, the old one is published, old receipts verify."""
    with running_server(tmp_path / "data", "--test-clock") as server:
        receipt_before, body_before = await _submit_one(server, tmp_path)
        hub_before = await _hub(server)
        server.stop()
        rotated = idx("rotate-hub", "--data-dir", server.data_dir)
        assert rotated.returncode == 0, rotated.stderr
        assert "retired hub certificate" in rotated.stdout
        server.start()
        hub_after = await _hub(server)
        receipt_after, body_after = await _submit_one(server, tmp_path)

    assert hub_after["caCertificate"] == hub_before["caCertificate"]
    assert hub_after["hubCertificate"] != hub_before["hubCertificate"]
    assert hub_after["previousHubCertificates"] == [hub_before["hubCertificate"]]
    assert len(list((server.data_dir / "pki").glob("hub-*.pem"))) == 1
    ca = tmp_path / "ca.pem"
    ca.write_text(hub_after["caCertificate"])
    for receipt, body, hub_pem in (
        (receipt_before, body_before, hub_before["hubCertificate"]),
        (receipt_after, body_after, hub_after["hubCertificate"]),
    ):
        data = json.loads(receipt.read_text())["data"]
        signed = tmp_path / "signed.txt"
        signed.write_text(f"{data['messageContextId']}|{data['payloadSha256']}|{data['receivedDateTime']}")
        der = tmp_path / "receipt.der"
        der.write_bytes(parse_signature_header(data["receipt"]))
        signer = tmp_path / "signer.pem"
        checked = openssl(
            "cms", "-verify", "-binary", "-inform", "DER", "-in", der, "-content", signed, "-CAfile", ca,
            "-out", "/dev/null", "-signer", signer,
        )  # fmt: skip
        assert checked.returncode == 0, checked.stderr
        assert signer.read_text() == hub_pem
        verified = idx("verify-receipt", "--ca", ca, "--payload", body, receipt)
        assert verified.returncode == 0, verified.stderr


async def _submit_one(server: ServerProcess, tmp_path: Path) -> tuple[Path, Path]:
    """Enrol a fresh MC and LNSP, submit one message; the receipt file and the body file."""
    operator = await operator_client(server.base_url, server.operator_secret)
    made = Participants(server, operator)
    try:
        mc: ParticipantClient = await made.new("MC", ["MC"])
        lnsp = await made.new("LN", ["LNSP"], enrol=False)
        body = sample_body(mc.participant_id, [lnsp.participant_id])
        submitted = await mc.submit(body)
        assert submitted.status_code == 200, submitted.text
    finally:
        await made.close()
        await operator.close()
    receipt, body_path = tmp_path / f"{mc.participant_id}.receipt.json", tmp_path / f"{mc.participant_id}.body.json"
    receipt.write_text(submitted.text)
    body_path.write_bytes(body)
    return receipt, body_path


async def _hub(server: ServerProcess) -> dict[str, object]:
    operator = await operator_client(server.base_url, server.operator_secret)
    try:
        published: dict[str, object] = (await operator.http.get("/certs/v1/hub")).json()["data"]
    finally:
        await operator.close()
    return published
