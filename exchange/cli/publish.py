"""`idx publish BF RESOURCE FILE`: the operator signs a publication and sends it through the ordinary signed POST.

A business function that splits its publications (`SplitsPublications`, e.g. a DUID roll of `ssm`, one message
per owner) gets the DUIDs' owners from the API first; the split happens before signing, so every recipient
gets bytes the operator signed, and the exchange never rewrites a payload.
"""

from __future__ import annotations

import gzip
import json
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path

import click
import httpx

from certs.errors import CertificateError
from certs.participant import check_key_matches, load_certificate, load_signing_key
from certs.signature import sign_detached
from exchange.cli.operator import read_operator_secret
from exchange.cli.tls import ca_file_option
from exchange.domain.markettime import market_day
from exchange.functions.protocol import SplitsPublications
from exchange.functions.registry import Registry, UnknownFunctionError
from exchange.settings import env_var

_EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_SECRET_MISSING = "give --client-secret (or IDX_OPERATOR_SECRET) or --data-dir DIR (DIR/operator.secret)"  # noqa: S105 - a usage message, not a secret
PRIORITIES = {"High": "h", "Medium": "m", "Low": "l"}


@click.command()
@click.argument("business_function")
@click.argument("resource")
@click.argument("file", type=_EXISTING_FILE)
@click.option("--url", default="http://127.0.0.1:8080", show_default=True, help="The exchange.")
@ca_file_option
@click.option("--key", "key_path", type=_EXISTING_FILE, required=True, help="The sender's private key (PEM).")
@click.option("--cert", "cert_path", type=_EXISTING_FILE, required=True, help="Its nominated certificate (PEM).")
@click.option("--participant", default="OPERATOR", show_default=True, help="The sender's participant id.")
@click.option("--client-id", default="operator", show_default=True, help="The sender's API client.")
@click.option("--client-secret", envvar=env_var("operator_secret"), help="Its secret [default: DIR/operator.secret].")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), help="The exchange's data directory.")
@click.option("--priority", type=click.Choice(list(PRIORITIES)), default="Medium", show_default=True)
def publish(
    business_function: str,
    resource: str,
    file: Path,
    url: str,
    key_path: Path,
    cert_path: Path,
    participant: str,
    client_id: str,
    client_secret: str | None,
    data_dir: Path | None,
    priority: str,
) -> None:
    """Sign FILE (an IDX envelope) and send it to POST /BF/v1/RESOURCE, split first where the function splits its
    publications (a DUID roll: one message per owner of its DUIDs). Prints one line per message sent; exit code 1
    if any was refused."""
    try:
        function, _ = Registry.from_entry_points().resource(business_function, resource)
    except UnknownFunctionError as error:
        raise click.UsageError(str(error)) from error
    try:
        key = load_signing_key(key_path.read_bytes())
        certificate = load_certificate(cert_path.read_bytes())
        check_key_matches(key, certificate)
    except CertificateError as error:
        raise click.UsageError(str(error)) from error
    body = file.read_bytes()
    with httpx.Client(base_url=url.rstrip("/"), timeout=60.0) as http:
        token = _token(http, client_id, read_operator_secret(client_secret, data_dir, missing=_SECRET_MISSING))
        bodies = [body]
        if isinstance(function, SplitsPublications):
            try:
                bodies = function.split(resource, body, _owners(http, token))
            except (ValueError, KeyError, TypeError) as error:
                raise click.ClickException(f"cannot split {file}: {error}") from error
        refused = 0
        for piece in bodies:
            context_id = f"{business_function}~{resource}~{PRIORITIES[priority]}~{participant}~{secrets.token_hex(12)}"
            headers = {
                "Authorization": f"Bearer {token}",
                "x-initiatingParticipantId": participant,
                "x-messageContextId": context_id,
                "x-signature": sign_detached(piece, certificate, key),
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
            }
            response = http.post(f"/{business_function}/v1/{resource}", content=gzip.compress(piece), headers=headers)
            recipients = ",".join(_recipients(piece))
            click.echo(f"{response.status_code} {context_id} to {recipients}")
            if response.status_code != 200:
                refused += 1
                click.echo(response.text, err=True)
    if refused:
        sys.exit(1)


def _token(http: httpx.Client, client_id: str, secret: str) -> str:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    response = http.post("/oauth/token", data=form)
    if response.status_code != 200:
        raise click.ClickException(f"no token for {client_id}: {response.status_code} {response.text}")
    return str(response.json()["access_token"])


def _owners(http: httpx.Client, token: str) -> dict[str, str]:
    """Each registered DUID's owner, from the administration API (the operator's client holds IDX_ADMIN)."""
    response = http.get("/admin/v1/duids", headers={"Authorization": f"Bearer {token}"})
    if response.status_code != 200:
        raise click.ClickException(f"cannot read the DUIDs' owners: {response.status_code} {response.text}")
    today = market_day(datetime.now(UTC)).isoformat()
    # A DUID passes to another generator from a date: the owner today is the last transfer that has begun.
    return {
        unit["duid"]: max(
            [(t["fromDate"], t["participantId"]) for t in unit.get("transfers", []) if t["fromDate"] <= today],
            default=("", unit["participantId"]),
        )[1]
        for unit in response.json()["data"]
    }


def _recipients(body: bytes) -> list[str]:
    try:
        return [str(r) for r in json.loads(body)["data"]["header"]["receivingParticipantId"]]
    except (ValueError, KeyError, TypeError):
        return ["?"]
