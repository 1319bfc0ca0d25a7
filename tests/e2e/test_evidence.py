"""Evidence bundles from outside: `idx verify evidence` proves a fresh bundle and names the payload once one byte of
it changes; the openssl commands of docs/verifiability.md verify every signature part; strangers get 404."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from exchange.functions.bpqd.sample import sample_body
from simulators.client import ParticipantClient
from tests.e2e.queue_helpers import accepted_id, wait_for_queue
from tests.e2e.read_side import Join, eventually
from tests.problems import assert_problem

IDX = Path(sys.executable).parent / "idx"
DOCS = Path(__file__).parents[2] / "docs" / "verifiability.md"


def verify_evidence(bundle: Path, ca: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(IDX), "verify", "evidence", str(bundle), "--ca", str(ca)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def documented_openssl_block() -> str:
    """The shell block of docs/verifiability.md that checks a bundle's signatures with openssl alone."""
    found = re.search(r"<!-- evidence-openssl -->\n```sh\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert found is not None, "docs/verifiability.md lost its openssl block"
    return found.group(1)


def run_documented_openssl(workdir: Path) -> subprocess.CompletedProcess[str]:
    """The docs' openssl block, run where evidence.zip and ca.pem are, as an auditor would paste it."""
    return subprocess.run(
        ["bash", "-e", "-c", documented_openssl_block()],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def signed_and_deleted(mc: ParticipantClient, lnsp: ParticipantClient) -> str:
    """A BPQD message from `mc` that `lnsp` fetched and deleted with its signature; its messageContextId."""
    mcid = await accepted_id(mc, sample_body(mc.participant_id, [lnsp.participant_id], seed=7))
    assert mcid in await wait_for_queue(lnsp, 1)
    fetched = await lnsp.fetch(mcid)
    deleted = await lnsp.delete(mcid, signature=lnsp.acknowledge(mcid, fetched.content))
    assert deleted.status_code == 204, deleted.text
    return mcid


@pytest.mark.interop  # `make test` installs openssl: a missing one fails, never skips
async def test_a_fresh_bundle_verifies_and_one_changed_payload_byte_fails_naming_the_payload(
    join: Join, tmp_path: Path
) -> None:
    """`idx verify evidence` passes on the sender's bundle, openssl verifies its signatures as the docs say, and a
    copy with one payload byte changed fails, naming `payload`; a stranger gets 404."""
    mc = await join("MC", ["MC"])
    lnsp = await join("LNSP", ["LNSP"])
    stranger = await join("LNSP", ["LNSP"], enrol=False)
    mcid = await signed_and_deleted(mc, lnsp)

    async def bundle_with_the_delete() -> bytes:
        # The hub signs a tree head about once a second: until the deleted leaf is under one, it is not in.
        response = await mc.http.get(f"/idx/v1/evidence/{mcid}", headers=mc.headers())
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            assert f"signatures/delete-{lnsp.participant_id}.sig" in archive.namelist()
        return response.content

    content = await eventually(bundle_with_the_delete, within=15.0)
    bundle, ca = tmp_path / "evidence.zip", tmp_path / "ca.pem"
    bundle.write_bytes(content)
    ca.write_text((await mc.http.get("/certs/v1/hub")).json()["data"]["caCertificate"])

    proven = verify_evidence(bundle, ca)
    assert proven.returncode == 0, proven.stdout + proven.stderr
    assert "FAILED" not in proven.stdout
    assert proven.stdout.count("PROVEN") >= 11  # CA, payload, 3 hub and sender signatures, delete, 3 leaves, head, hub

    openssl = run_documented_openssl(tmp_path)
    assert openssl.returncode == 0, openssl.stderr
    assert openssl.stderr.count("CMS Verification successful") == 5  # sender, hub, receipt, delete, tree head

    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    payload = bytearray(files["payload"])
    payload[len(payload) // 2] ^= 0x01
    files["payload"] = bytes(payload)
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as archive:
        for name, part in files.items():
            archive.writestr(name, part)

    refuted = verify_evidence(tampered, ca)
    assert refuted.returncode == 1
    assert re.search(r"^FAILED payload: ", refuted.stdout, re.MULTILINE), refuted.stdout
    assert "payload" in refuted.stderr.split("do not hold:")[1]
    assert "PROVEN log/tree-head.json" in refuted.stdout  # the tree head itself is untouched

    assert_problem(await stranger.http.get(f"/idx/v1/evidence/{mcid}", headers=stranger.headers()), 404)
