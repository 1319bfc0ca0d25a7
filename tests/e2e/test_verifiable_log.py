"""The verifiable log from outside: proofs checked by an independent RFC 9162 verifier, tree heads by openssl,
consistency by `idx verify log`, and tampering with the stored log caught by all three."""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

from exchange.functions.bpqd.sample import sample_body
from simulators.client import ParticipantClient
from tests import rfc9162
from tests.e2e.queue_helpers import wait_for_queue
from tests.e2e.read_side import eventually, small_market
from tests.harness import ServerProcess
from tests.problems import assert_problem

IDX = Path(sys.executable).parent / "idx"


async def get(client: ParticipantClient, path: str, **params: Any) -> dict[str, Any]:
    response = await client.http.get(path, params=params, headers=client.headers())
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert isinstance(data, dict)
    return data


async def head_covering(client: ParticipantClient, size: int) -> dict[str, Any]:
    """The latest tree head once one of at least `size` leaves is signed (the hub signs at least once a second)."""

    async def signed() -> dict[str, Any]:
        head = await get(client, "/idx/v1/log/sth")
        assert head["treeSize"] >= size
        return head

    return await eventually(signed, within=10.0)


async def send(mc: ParticipantClient, lnsp: ParticipantClient, seed: int) -> str:
    response = await mc.submit(sample_body(mc.participant_id, [lnsp.participant_id], seed=seed))
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["messageContextId"])


def b64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def proves(proof: dict[str, Any], head: dict[str, Any]) -> bool:
    """The independent verifier: does the audit path lead from the leaf to the head's root?"""
    path = [b64(p) for p in proof["auditPath"]]
    leaf = proof["leaf"].encode()
    return rfc9162.verify_inclusion(leaf, proof["leafIndex"], head["treeSize"], path, b64(head["rootHash"]))


def openssl_verifies(head: dict[str, Any], ca_pem: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    """`openssl cms -verify` of the tree head's signature over `treeSize|rootHash|timestamp`, against the CA."""
    signature, content, ca = workdir / "sth.der", workdir / "sth.txt", workdir / "ca.pem"
    signature.write_bytes(b64(head["signature"].split(";", 1)[1]))
    content.write_text(f"{head['treeSize']}|{head['rootHash']}|{head['timestamp']}")
    ca.write_text(ca_pem)
    return subprocess.run(
        ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", signature, "-content", content,
         "-CAfile", ca, "-out", "/dev/null"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def verify_log(server: ServerProcess, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(IDX), "verify", "log", "--url", server.base_url, "--state", str(state),
         "--client-id", "operator", "--client-secret", server.operator_secret],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


async def test_a_message_just_sent_is_proven_in_a_signed_consistent_log(
    crash_server: ServerProcess, made: list[ParticipantClient], tmp_path: Path
) -> None:
    """The proof of a fresh message verifies against /log/sth, openssl verifies the head, later heads extend it."""
    server = crash_server
    operator, mc, (lnsp, other) = await small_market(server, made, "VL", "AB")
    state = tmp_path / "sth.json"
    first_run = verify_log(server, state)  # the empty tree, before any message
    assert first_run.returncode == 0, first_run.stderr

    mcid = await send(mc, lnsp, seed=1)
    first = await head_covering(mc, 2)  # accepted and queued
    proof = await get(mc, "/idx/v1/log/proof", messageContextId=mcid, kind="accepted", treeSize=first["treeSize"])
    assert json.loads(proof["leaf"])["messageContextId"] == mcid
    assert proves(proof, first)
    queued = await get(lnsp, "/idx/v1/log/proof", messageContextId=mcid, kind="queued", recipient=lnsp.participant_id)
    assert proves(queued, await get(lnsp, "/idx/v1/log/sth"))
    ca_pem = (await mc.http.get("/certs/v1/hub")).json()["data"]["caCertificate"]
    verified = openssl_verifies(first, ca_pem, tmp_path)
    assert verified.returncode == 0, verified.stderr

    # The receipt's row in the transaction log now says where its acceptance sits.
    row = await get(operator, f"/idx/v1/translog/{mcid}")
    assert row["leafIndex"] == proof["leafIndex"]

    # Someone else's message is not found; bad parameters are problems, never a 5xx.
    missing = await other.http.get(
        "/idx/v1/log/proof", params={"messageContextId": mcid, "kind": "accepted"}, headers=other.headers()
    )
    assert_problem(missing, 404)
    for params in ({"messageContextId": mcid, "kind": "opened"}, {"messageContextId": mcid, "kind": "queued"}):
        assert_problem(await mc.http.get("/idx/v1/log/proof", params=params, headers=mc.headers()), 422)
    bad = await mc.http.get("/idx/v1/log/consistency", params={"first": "x", "second": 1}, headers=mc.headers())
    assert bad.status_code == 400, bad.text
    assert_problem(
        await mc.http.get("/idx/v1/log/consistency", params={"first": 5, "second": 1}, headers=mc.headers()), 422
    )

    kept = verify_log(server, state)
    assert kept.returncode == 0, kept.stderr
    assert (await wait_for_queue(lnsp, 1)) == [mcid]
    assert (await lnsp.delete(mcid)).status_code == 204
    for seed in range(2, 6):
        await send(mc, lnsp, seed)
    second = await head_covering(mc, first["treeSize"] + 9)
    consistency = await get(mc, "/idx/v1/log/consistency", first=first["treeSize"], second=second["treeSize"])
    assert rfc9162.verify_consistency(
        first["treeSize"], second["treeSize"], b64(first["rootHash"]), b64(second["rootHash"]),
        [b64(p) for p in consistency["proof"]],
    )  # fmt: skip
    checked = verify_log(server, state)
    assert checked.returncode == 0, checked.stderr
    assert "consistent with" in checked.stdout
    deleted = await get(lnsp, "/idx/v1/log/proof", messageContextId=mcid, kind="deleted", recipient=lnsp.participant_id)
    assert json.loads(deleted["leaf"])["recipientSignature"] is None
    assert proves(deleted, await get(lnsp, "/idx/v1/log/sth"))


def tamper_payload_hash(data_dir: Path, message_context_id: str) -> None:
    """Rewrite the payloadSha256 of a stored Submitted event, as someone with the database file could."""
    connection = sqlite3.connect(data_dir / "events.sqlite")
    try:
        rows = connection.execute(
            "SELECT rowid, state FROM stored_events WHERE topic LIKE '%Message.Submitted'"
        ).fetchall()
        for rowid, state in rows:
            event = json.loads(zlib.decompress(state))
            if event.get("message_context_id") == message_context_id:
                event["payload_sha256"] = "0" * 64
                changed = zlib.compress(json.dumps(event).encode())
                connection.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (changed, rowid))
                connection.commit()
                return
        raise AssertionError(f"no stored Submitted event of {message_context_id}")
    finally:
        connection.close()


def rebuild_log(data_dir: Path) -> None:
    done = subprocess.run(
        [str(IDX), "rebuild", "log", "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


async def test_a_rewritten_log_fails_its_earlier_tree_heads(
    crash_server: ServerProcess, made: list[ParticipantClient], tmp_path: Path
) -> None:
    """Reordered leaves, a changed payload hash and a deleted event all break proofs and `idx verify log`."""
    server = crash_server
    operator, mc, (lnsp,) = await small_market(server, made, "TP", "A")
    sent = [await send(mc, lnsp, seed) for seed in range(4)]
    old = await head_covering(mc, 8)
    state = tmp_path / "sth.json"
    assert verify_log(server, state).returncode == 0

    # Reordered leaves: the leaf served at an index is not the one the signed head was made of.
    views = sqlite3.connect(server.data_dir / "views.sqlite")
    try:
        (a, b) = views.execute("SELECT leaf FROM log_leaves WHERE leaf_index IN (0, 2) ORDER BY leaf_index").fetchall()
        views.execute("UPDATE log_leaves SET leaf = ? WHERE leaf_index = 0", (b[0],))
        views.execute("UPDATE log_leaves SET leaf = ? WHERE leaf_index = 2", (a[0],))
        views.commit()
    finally:
        views.close()
    swapped = await get(mc, "/idx/v1/log/proof", messageContextId=sent[0], kind="accepted", treeSize=old["treeSize"])
    assert not proves(swapped, old)

    # A changed payload hash in the event store, and the log rebuilt from it: the new tree is not the signed one.
    server.stop()
    tamper_payload_hash(server.data_dir, sent[1])
    rebuild_log(server.data_dir)
    server.start()
    await operator.login()
    await mc.login()
    rewritten = await get(mc, "/idx/v1/log/proof", messageContextId=sent[1], kind="accepted", treeSize=old["treeSize"])
    assert json.loads(rewritten["leaf"])["payloadSha256"] == "0" * 64
    assert not proves(rewritten, old)
    await send(mc, lnsp, seed=10)
    await head_covering(mc, old["treeSize"] + 2)
    checked = verify_log(server, state)
    assert checked.returncode == 1
    assert "INCONSISTENT" in checked.stderr

    # A deleted event: every leaf after it moves, and no proof of them matches the head signed before.
    server.stop()
    connection = sqlite3.connect(server.data_dir / "events.sqlite")
    try:
        connection.execute(
            "DELETE FROM stored_events WHERE rowid = (SELECT min(rowid) FROM stored_events WHERE topic LIKE "
            "'%Delivery.Queued')"
        )
        connection.commit()
    finally:
        connection.close()
    rebuild_log(server.data_dir)
    server.start()
    await mc.login()
    moved = await get(mc, "/idx/v1/log/proof", messageContextId=sent[3], kind="accepted", treeSize=old["treeSize"])
    assert not proves(moved, old)
