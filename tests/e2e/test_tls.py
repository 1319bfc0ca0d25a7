"""`idx serve --tls-cert --tls-key` speaks HTTPS with the certificate given; `--tls-client-ca` adds mutual TLS."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from exchange.cli.tls import CA_FILE_VARIABLE
from simulators.client import operator_client
from simulators.rawhttp import RawConnection
from tests.crafted_cms import self_signed_ca
from tests.harness import ServerProcess, running_server


@dataclass(frozen=True)
class Issued:
    certificate: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(directory: Path, stem: str, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Issued:
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Issued(cert_path, key_path)


class ThrowAwayCA:
    """A CA made for one test module, issuing a server certificate for 127.0.0.1 and client certificates."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.name = name
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        self.certificate = self_signed_ca(_name(name), self.key, now - timedelta(minutes=5), now + timedelta(days=1))
        self.files = _write(directory, name, self.certificate, self.key)

    def issue(self, stem: str, *, server: bool) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        usage = x509.oid.ExtendedKeyUsageOID.SERVER_AUTH if server else x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(stem))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
            )
        return _write(self.directory, stem, builder.sign(self.key, hashes.SHA256()), key)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[ThrowAwayCA, Issued]:
    """A throw-away CA and the server certificate it issued."""
    ca = ThrowAwayCA(tmp_path_factory.mktemp("pki"), "test-ca")
    return ca, ca.issue("server", server=True)


def trusting(ca: ThrowAwayCA, client: Issued | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca.files.certificate))
    if client is not None:
        context.load_cert_chain(str(client.certificate), str(client.key))
    return context


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory, pki: tuple[ThrowAwayCA, Issued]) -> Iterator[ServerProcess]:
    ca, server = pki
    arguments = ("--tls-cert", str(server.certificate), "--tls-key", str(server.key))
    with running_server(tmp_path_factory.mktemp("https") / "data", *arguments, tls=trusting(ca)) as running:
        yield running


def test_https_healthz_answers_with_the_certificate_given(
    https_server: ServerProcess, pki: tuple[ThrowAwayCA, Issued]
) -> None:
    """The certificate the server shows is the one passed as --tls-cert, and /healthz answers over it."""
    ca, server = pki

    shown = ssl.get_server_certificate(("127.0.0.1", https_server.port), ca_certs=str(ca.files.certificate))
    response = httpx.get(f"{https_server.base_url}/healthz", verify=trusting(ca))

    given = x509.load_pem_x509_certificate(server.certificate.read_bytes())
    assert x509.load_pem_x509_certificate(shown.encode()) == given
    assert https_server.base_url.startswith("https://")
    assert response.status_code == 200, response.text


def test_plain_http_gets_no_answer_from_an_https_exchange(https_server: ServerProcess) -> None:
    """Tokens never travel in clear to an exchange served with --tls-cert."""
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{https_server.port}/healthz", timeout=5.0)


def test_with_a_client_ca_only_clients_with_a_certificate_of_that_ca_get_through(
    tmp_path_factory: pytest.TempPathFactory, pki: tuple[ThrowAwayCA, Issued]
) -> None:
    """--tls-client-ca: no client certificate, or one of another CA, is refused; one from that CA gets /healthz."""
    ca, server = pki
    member = ca.issue("member", server=False)
    stranger = ThrowAwayCA(tmp_path_factory.mktemp("other-pki"), "other-ca").issue("stranger", server=False)
    arguments = (
        *("--tls-cert", str(server.certificate), "--tls-key", str(server.key)),
        *("--tls-client-ca", str(ca.files.certificate)),
    )
    data_dir = tmp_path_factory.mktemp("mtls") / "data"

    with running_server(data_dir, *arguments, tls=trusting(ca, member)) as running:
        url = f"{running.base_url}/healthz"
        for refused in (trusting(ca), trusting(ca, stranger)):
            with pytest.raises(httpx.TransportError):
                httpx.get(url, verify=refused, timeout=5.0)
        assert httpx.get(url, verify=trusting(ca, member)).status_code == 200


async def test_the_simulators_client_trusts_a_private_ca_given_as_ca_file(
    https_server: ServerProcess, pki: tuple[ThrowAwayCA, Issued]
) -> None:
    """ParticipantClient(ca_file=...) gets a token and calls the API over HTTPS with the exchange's private CA."""
    ca, _ = pki
    operator = await operator_client(
        https_server.base_url, https_server.operator_secret, ca_file=str(ca.files.certificate)
    )
    try:
        listed = await operator.http.get("/admin/v1/participants", headers=operator.headers())
    finally:
        await operator.close()
    assert listed.status_code == 200, listed.text


async def test_the_bench_connection_speaks_https_trusting_the_ca_file_variable(
    https_server: ServerProcess, pki: tuple[ThrowAwayCA, Issued], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`idx bench --ca-file` sets SSL_CERT_FILE; the raw keep-alive connection of its senders trusts that CA."""
    ca, _ = pki
    monkeypatch.setenv(CA_FILE_VARIABLE, str(ca.files.certificate))
    connection = RawConnection(https_server.base_url)
    try:
        answer = await connection.request("GET", "/healthz")
    finally:
        await connection.close()
    assert answer.status == 200, answer.body
