"""`idx verify log`: a participant's monitor of the exchange's Merkle log, run from cron.

It fetches the latest signed tree head, checks the hub's signature against the exchange CA, checks that the tree
extends the one it kept last time (RFC 9162 consistency proof), and keeps the new head. Exit status 0 when all
holds, 1 with the reason on stderr when anything does not: a log that was rewritten cannot pass.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
import httpx
from cryptography import x509

from certs.errors import CertificateError
from certs.tree_heads import verify_tree_head
from exchange.cli.tls import ca_file_option
from exchange.domain import merkle
from exchange.kernel.files import write_private
from exchange.settings import TOKEN_VARIABLE


@click.group()
@ca_file_option
def verify() -> None:
    """Check what the exchange claims, with its CA and RFC 9162 proofs."""


def _fail(message: str) -> NoReturn:
    click.echo(f"FAILED: {message}", err=True)
    sys.exit(1)


def _token(http: httpx.Client, client_id: str | None, client_secret: str | None, token: str | None) -> str:
    if token:
        return token
    if not client_id or not client_secret:
        _fail(f"give --client-id and --client-secret, or a bearer token in {TOKEN_VARIABLE}")
    answer = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
    )
    if answer.status_code != 200:
        _fail(f"the exchange refused the client credentials ({answer.status_code})")
    return str(answer.json()["access_token"])


def _get(http: httpx.Client, path: str, token: str | None = None, **params: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = http.get(path, params=params, headers=headers)
    if answer.status_code != 200:
        _fail(f"GET {path} answered {answer.status_code}: {answer.text[:300]}")
    data = answer.json()["data"]
    assert isinstance(data, dict)
    return data


def _hashes(values: list[str]) -> list[bytes]:
    try:
        return [base64.b64decode(v, validate=True) for v in values]
    except (binascii.Error, ValueError):
        _fail("the exchange sent a proof that is not base64")


@verify.command("log")
@click.option("--url", required=True, help="The exchange, e.g. https://idx.example.")
@click.option(
    "--state",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where the last tree head seen (and the CA it was checked with) is kept between runs.",
)
@click.option("--client-id", help="Your API client id (or give a token in the environment).")
@click.option("--client-secret", help="Your API client secret.")
def verify_log(url: str, state: Path, client_id: str | None, client_secret: str | None) -> None:
    """Check the latest signed tree head and its consistency with the one kept in STATE; keep the new one.

    The first run trusts the CA the exchange publishes and keeps it in STATE; later runs check with that one.
    """
    kept: dict[str, Any] | None = json.loads(state.read_text()) if state.exists() else None
    with httpx.Client(base_url=url, timeout=30.0) as http:
        ca_pem = kept["caCertificate"] if kept else _get(http, "/certs/v1/hub")["caCertificate"]
        ca = x509.load_pem_x509_certificate(ca_pem.encode())
        token = _token(http, client_id, client_secret, os.environ.get(TOKEN_VARIABLE))
        head = _get(http, "/idx/v1/log/sth", token)
        size, root_b64 = int(head["treeSize"]), str(head["rootHash"])
        try:
            verify_tree_head(size, root_b64, head["timestamp"], head["signature"], ca)
        except CertificateError as error:
            _fail(f"the tree head of {size} is not signed by the exchange's hub: {error}")
        root = _hashes([root_b64])[0]
        if kept is not None:
            old_size, old_root = int(kept["treeSize"]), _hashes([kept["rootHash"]])[0]
            if size < old_size:
                _fail(f"INCONSISTENT: the log shrank from {old_size} to {size} leaves")
            if old_size == 0:
                consistent = True  # every tree extends the empty one
            elif size == old_size:
                consistent = root == old_root
            else:
                proof = _get(http, "/idx/v1/log/consistency", token, first=old_size, second=size)["proof"]
                consistent = merkle.verify_consistency(old_size, size, old_root, root, _hashes(proof))
            if not consistent:
                _fail(
                    f"INCONSISTENT: the tree of {size} leaves (signed {head['timestamp']}) does not extend the tree "
                    f"of {old_size} kept in {state} (signed {kept['timestamp']}): the log was rewritten"
                )
    write_private(state, json.dumps({**head, "caCertificate": ca_pem}, indent=2) + "\n")
    since = f", consistent with the {kept['treeSize']} kept before" if kept else " (first run: CA and head kept)"
    click.echo(f"tree head of {size} leaves signed by the hub at {head['timestamp']}{since}")
