"""`idx certs`: a participant's certificate chores without writing code, and the operator's hub key rollover.

Every participant-side command works offline on local files: private keys never leave the participant.
Failures print the reason on stderr and exit with status 1.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, NoReturn

import click
from cryptography import x509

from certs.chain import check_issued_by, serial_hex
from certs.crl import check_not_revoked, load_crl
from certs.csr import load_and_check_csr
from certs.errors import CertificateError
from certs.participant import (
    build_csr,
    check_key_matches,
    load_certificate,
    load_signing_key,
    new_signing_key,
    private_key_pem,
)
from certs.receipts import parse_receipt, verify_receipt
from certs.signature import sign_detached, verify_signature_file
from exchange.cli.tls import ca_file_option
from exchange.kernel.files import write_private
from exchange.kernel.formats import PARTICIPANT_ID
from exchange.settings import env_var

_EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_NEW_FILE = click.Path(dir_okay=False, path_type=Path)


@click.group()
@ca_file_option
def certs() -> None:
    """Keys, CSRs, signatures and receipts on local files (private keys never leave this machine); hub rollover."""


@certs.command()
@click.option("--participant", required=True, help="Your participant id, e.g. MC1.")
@click.option("--key-out", type=_NEW_FILE, help="Where to write the private key (mode 0600) [default: <id>.key].")
@click.option("--csr-out", type=_NEW_FILE, help="Where to write the CSR [default: <id>.csr].")
@click.option("--common-name", help="The certificate's CN [default: <id>-signing]; must begin with your id.")
@click.option("--ec", "elliptic", is_flag=True, help="Make an EC P-256 key instead of RSA-2048.")
@click.option("--force", is_flag=True, help="Overwrite an existing key file.")
def csr(
    participant: str,
    key_out: Path | None,
    csr_out: Path | None,
    common_name: str | None,
    elliptic: bool,
    force: bool,
) -> None:
    """Make a signing key and a certificate signing request for it.

    Send the CSR with `POST /certs/v1/certificates {"csr": "<PEM>"}`; keep the key.
    """
    if not PARTICIPANT_ID.match(participant):
        raise click.BadParameter("a participant id is 1-10 of A-Z and 0-9", param_hint="--participant")
    key_out = key_out or Path(f"{participant.lower()}.key")
    csr_out = csr_out or Path(f"{participant.lower()}.csr")
    common_name = common_name or f"{participant}-signing"
    key = new_signing_key(elliptic=elliptic)
    request = build_csr(key, common_name)
    try:
        load_and_check_csr(request, participant)  # the exchange's own rules, checked before anything is written
    except CertificateError as error:
        _fail(str(error))
    try:
        write_private(key_out, private_key_pem(key), overwrite=force)
    except FileExistsError:
        _fail(f"{key_out} exists; keep it, choose another --key-out, or pass --force to replace it")
    csr_out.write_bytes(request)
    kind = "EC P-256" if elliptic else "RSA-2048"
    click.echo(f"wrote {kind} key {key_out} (mode 0600) and CSR {csr_out} for CN={common_name}")


@certs.command()
@click.option("--key", "key_path", type=_EXISTING_FILE, required=True, help="Your private key (PEM).")
@click.option("--cert", "cert_path", type=_EXISTING_FILE, required=True, help="Its certificate from the exchange.")
@click.argument("file", type=click.File("rb"))
def sign(key_path: Path, cert_path: Path, file: BinaryIO) -> None:
    """Print the x-signature value for FILE's exact bytes (`-` reads stdin): `RSA-SHA256;<base64 CMS>`, or
    `ECDSA-SHA256;<base64 CMS>` for an EC key."""
    try:
        key = load_signing_key(key_path.read_bytes())
        certificate = load_certificate(cert_path.read_bytes())
        check_key_matches(key, certificate)
    except CertificateError as error:
        _fail(str(error))
    click.echo(sign_detached(file.read(), certificate, key))


@certs.command()
@click.option(
    "--signature",
    required=True,
    help="The signature: `RSA-SHA256;<base64>` (`ECDSA-SHA256;` for EC), or @FILE holding that, a PEM or a DER CMS.",
)
@click.option("--ca", "ca_path", type=_EXISTING_FILE, required=True, help="The exchange CA certificate (ca.pem).")
@click.option("--at", "at", help="Check the certificate's validity at this ISO 8601 time instead of now.")
@click.option(
    "--crl",
    "crl_path",
    type=_EXISTING_FILE,
    help="Also refuse a signer this CRL (PEM or DER, from GET /certs/v1/crl) lists; it must be the CA's and current.",
)
@click.argument("file", type=click.File("rb"))
def verify(signature: str, ca_path: Path, at: str | None, crl_path: Path | None, file: BinaryIO) -> None:
    """Verify a detached signature over FILE and that its signer was issued by the exchange CA.

    Without --crl revocation is not checked: fetch the CA's CRL from GET /certs/v1/crl to check it offline.
    """
    try:
        given = _argument_bytes(signature)
        ca = load_certificate(ca_path.read_bytes())
        signer = verify_signature_file(given, file.read())
        check_issued_by(signer, ca, _moment(at))
        if crl_path is not None:
            # The CRL says what is revoked now, whatever moment --at names.
            check_not_revoked(signer, load_crl(crl_path.read_bytes()), ca, datetime.now(UTC))
    except CertificateError as error:
        _fail(f"signature FAILED: {error}")
    click.echo(f"signature OK\n{_describe(signer)}")


@certs.command("verify-receipt")
@click.option("--ca", "ca_path", type=_EXISTING_FILE, required=True, help="The exchange CA certificate (ca.pem).")
@click.option("--payload", type=click.File("rb"), help="Also check that the receipt is for this exact payload.")
@click.argument("receipt_json", type=click.File("rb"))
def verify_receipt_command(ca_path: Path, payload: BinaryIO | None, receipt_json: BinaryIO) -> None:
    """Verify a submission receipt: RECEIPT_JSON is the 200 answer of the submission (`-` reads stdin).

    Rebuilds `messageContextId|payloadSha256|receivedDateTime`, checks the hub's signature over it and that the
    hub certificate chains to the CA (at receivedDateTime, so receipts outlive hub key rollovers).
    """
    try:
        document = json.loads(receipt_json.read())
    except (ValueError, UnicodeDecodeError) as error:
        _fail(f"receipt FAILED: not JSON: {error}")
    try:
        receipt = parse_receipt(document)
        ca = load_certificate(ca_path.read_bytes())
        signer = verify_receipt(receipt, ca, payload.read() if payload is not None else None)
    except CertificateError as error:
        _fail(f"receipt FAILED: {error}")
    lines = [
        "receipt OK",
        f"messageContextId: {receipt.message_context_id}",
        f"payloadSha256: {receipt.payload_sha256}" + (" (matches the payload)" if payload is not None else ""),
        f"receivedDateTime: {receipt.received_date_time}",
        _describe(signer),
    ]
    click.echo("\n".join(lines))


@certs.command("rotate-hub")
@click.option(
    "--data-dir",
    envvar=env_var("data_dir"),
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="The exchange's data directory (its pki/ holds the CA and hub keys).",
)
def rotate_hub(data_dir: Path) -> None:
    """Replace the hub's signing key and certificate (operator; run it while `idx serve` is stopped).

    A running server keeps signing with the key it loaded until it restarts. The old hub certificate is kept as
    pki/hub-<serial>.pem and published by GET /certs/v1/hub as a previous hub certificate; receipts it signed
    still verify against the unchanged CA.
    """
    from certs.authority import CertificateAuthority
    from exchange.kernel.clock import Clock

    pki = data_dir / "pki"
    if not (pki / "ca.pem").exists():
        _fail(f"{pki} holds no exchange CA: is {data_dir} the data directory of `idx serve`?")
    # The same clock as the server's: with --test-clock its offset lives in the data directory.
    now = Clock(data_dir / "clock.offset").now()
    authority = CertificateAuthority.load_or_create(pki, now)
    retired = authority.hub_certificate
    current = authority.rotate_hub(now)
    click.echo(
        f"retired hub certificate {serial_hex(retired)} (kept as {pki / f'hub-{serial_hex(retired)}.pem'})\n"
        f"new hub certificate {serial_hex(current)}, valid until {current.not_valid_after_utc.isoformat()}\n"
        "restart `idx serve` to sign with it"
    )


def _describe(certificate: x509.Certificate) -> str:
    return (
        f"signer: {certificate.subject.rfc4514_string()}\n"
        f"serial: {serial_hex(certificate)}\n"
        f"issuer: {certificate.issuer.rfc4514_string()}\n"
        f"valid: {certificate.not_valid_before_utc.isoformat()} to {certificate.not_valid_after_utc.isoformat()}"
    )


def _argument_bytes(value: str) -> bytes:
    if not value.startswith("@"):
        return value.encode()
    path = Path(value[1:])
    try:
        return path.read_bytes()
    except OSError as error:
        _fail(f"cannot read {path}: {error.strerror}")


def _moment(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time", param_hint="--at") from error
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _fail(reason: str) -> NoReturn:
    click.echo(reason, err=True)
    sys.exit(1)
