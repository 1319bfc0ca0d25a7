"""The exchange's certificates and signatures interoperate with the openssl command line."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from certs.authority import CertificateAuthority
from certs.chain import check_issued_by
from certs.errors import CsrRejectedError
from certs.signature import parse_signature_header, read_signature, sign_detached, verify_detached
from tests.openssl import openssl

pytestmark = [
    pytest.mark.interop,
]

# Plain -CAfile, no -purpose: the certificates themselves must satisfy openssl's default smimesign purpose.
_VERIFY = ["cms", "-verify", "-binary", "-inform", "DER"]
BODY = b'{"header": {"messageId": "m-1"},\n "data": [1, 2, 3]}\n'


@pytest.fixture(scope="module")
def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("openssl")


@pytest.fixture(scope="module")
def authority(workdir: Path, now: datetime) -> CertificateAuthority:
    return CertificateAuthority.load_or_create(workdir / "authority", now)


@pytest.fixture(scope="module")
def participant(workdir: Path, authority: CertificateAuthority, now: datetime) -> tuple[Path, Path]:
    """An openssl-made key and CSR for MC1, certified by the exchange: (certificate path, key path)."""
    key, csr, certificate = workdir / "mc1.key", workdir / "mc1.csr", workdir / "mc1.pem"
    subject = "/CN=MC1-openssl/O=Metering Co"
    made = openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", key, "-out", csr)
    assert made.returncode == 0, made.stderr
    issued = authority.issue(csr.read_bytes(), "MC1", now)
    certificate.write_bytes(issued.public_bytes(serialization.Encoding.PEM))
    return certificate, key


def _verify_with_openssl(authority: CertificateAuthority, workdir: Path, header: str) -> None:
    signature, body, ca = workdir / "sig.der", workdir / "body.json", workdir / "ca.pem"
    signature.write_bytes(parse_signature_header(header))
    body.write_bytes(BODY)
    ca.write_text(authority.ca_pem())
    verified = openssl(*_VERIFY, "-in", signature, "-content", body, "-CAfile", ca, "-out", "/dev/null")
    assert verified.returncode == 0, verified.stderr


def test_an_openssl_csr_is_issued_a_certificate_that_chains_to_the_ca(authority, participant, now):
    """A CSR from `openssl req` is accepted and its certificate chains to the exchange CA."""
    certificate = x509.load_pem_x509_certificate(participant[0].read_bytes())
    check_issued_by(certificate, authority.ca_certificate, now)


def _openssl_signed(workdir, participant, stem, outform):
    """BODY signed by the participant with `openssl cms -sign -binary` (detached) in `outform`; the signature file."""
    certificate, key = participant
    body, signature = workdir / f"{stem}-body.json", workdir / f"openssl-sig.{outform.lower()}"
    body.write_bytes(BODY)
    sign = ["cms", "-sign", "-binary", "-outform", outform, "-signer", certificate, "-inkey", key]
    signed = openssl(*sign, "-in", body, "-out", signature)
    assert signed.returncode == 0, signed.stderr
    return signature


def test_an_openssl_detached_signature_verifies(workdir, participant):
    """`openssl cms -sign -binary` (detached by default) verifies with verify_detached."""
    signature = _openssl_signed(workdir, participant, "signed", "DER")
    certificate = participant[0]
    signer = verify_detached(signature.read_bytes(), BODY)
    assert signer.public_bytes(serialization.Encoding.PEM) == certificate.read_bytes()


def test_openssl_verifies_the_hub_signature_against_the_ca(authority, workdir):
    """The hub's receipts verify with plain `openssl cms -verify -CAfile ca.pem` (no -purpose flag)."""
    _verify_with_openssl(authority, workdir, authority.sign(BODY))


def test_openssl_verifies_a_participant_signature_against_the_ca(authority, workdir, participant):
    """A participant's sign_detached output verifies with plain `openssl cms -verify -CAfile ca.pem`."""
    certificate_path, key_path = participant
    certificate = x509.load_pem_x509_certificate(certificate_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    _verify_with_openssl(authority, workdir, sign_detached(BODY, certificate, key))


def test_openssl_refuses_a_signature_over_other_content(authority, workdir):
    """The interop check is not vacuous: openssl rejects the hub signature over a different body."""
    signature, body, ca = workdir / "wrong-sig.der", workdir / "wrong-body.json", workdir / "ca-wrong.pem"
    signature.write_bytes(parse_signature_header(authority.sign(b"something else")))
    body.write_bytes(BODY)
    ca.write_text(authority.ca_pem())
    verified = openssl(*_VERIFY, "-in", signature, "-content", body, "-CAfile", ca, "-out", "/dev/null")
    # The content check itself fails (exit 4, "content verify error"), not the reading of the files or the chain.
    assert verified.returncode == 4, verified.stderr
    assert "CMS_SignerInfo_verify_content:verification failure" in verified.stderr, verified.stderr
    assert "content verify error" in verified.stderr, verified.stderr


def test_openssl_verifies_a_receipt_signed_before_a_hub_rollover(workdir, now):
    """After rotate_hub, a receipt from the old hub key still passes `openssl cms -verify -CAfile ca.pem`."""
    authority = CertificateAuthority.load_or_create(workdir / "rolling", now)
    header = authority.sign(BODY)
    authority.rotate_hub(now)
    assert authority.sign(BODY) != header
    _verify_with_openssl(authority, workdir, header)
    _verify_with_openssl(authority, workdir, authority.sign(BODY))


def test_an_openssl_pem_signature_is_read_and_verified(workdir, participant):
    """`openssl cms -sign -outform PEM` output is understood by read_signature (what `idx certs verify @file` uses)."""
    signature = _openssl_signed(workdir, participant, "pem", "PEM")
    certificate = participant[0]
    assert signature.read_text().startswith("-----BEGIN CMS-----")
    signer = verify_detached(read_signature(signature.read_bytes()), BODY)
    assert signer.public_bytes(serialization.Encoding.PEM) == certificate.read_bytes()


def test_an_openssl_ec_p256_key_signs_in_both_directions(workdir, authority, now):
    """An EC P-256 CSR from openssl is issued; openssl's ECDSA CMS verifies here, ours verifies in openssl."""
    key, csr = workdir / "ec.key", workdir / "ec.csr"
    made = openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-subj", "/CN=MC1-ec", "-keyout", key, "-out", csr,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    certificate = authority.issue(csr.read_bytes(), "MC1", now)
    certificate_path = workdir / "ec.pem"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    body, signature = workdir / "ec-body.json", workdir / "ec-sig.der"
    body.write_bytes(BODY)
    sign = ["cms", "-sign", "-binary", "-outform", "DER", "-signer", certificate_path, "-inkey", key]
    assert openssl(*sign, "-in", body, "-out", signature).returncode == 0
    assert verify_detached(signature.read_bytes(), BODY) == certificate
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    _verify_with_openssl(authority, workdir, sign_detached(BODY, certificate, private))


def test_an_openssl_rsa_1024_csr_is_refused(workdir, authority, now):
    """`openssl req -newkey rsa:1024` makes a CSR the exchange refuses, naming the key size."""
    key, csr = workdir / "weak.key", workdir / "weak.csr"
    made = openssl("req", "-new", "-newkey", "rsa:1024", "-nodes", "-subj", "/CN=MC1-weak", "-keyout", key, "-out", csr)
    assert made.returncode == 0, made.stderr
    with pytest.raises(CsrRejectedError, match="RSA 1024-bit keys are too short"):
        authority.issue(csr.read_bytes(), "MC1", now)


@pytest.fixture(scope="module")
def ec_authority(workdir: Path, now: datetime) -> CertificateAuthority:
    """An exchange whose hub key was made as EC P-256 (`--hub-key-type ec-p256`)."""
    return CertificateAuthority.load_or_create(workdir / "ec-hub", now, hub_key_type="ec-p256")


def test_openssl_verifies_the_ec_hub_signature_against_the_ca(ec_authority, workdir):
    """An EC P-256 hub's receipts carry `ECDSA-SHA256;` and verify with plain `openssl cms -verify -CAfile ca.pem`."""
    header = ec_authority.sign(BODY)
    assert header.startswith("ECDSA-SHA256;")
    assert isinstance(ec_authority.hub_certificate.public_key(), ec.EllipticCurvePublicKey)
    _verify_with_openssl(ec_authority, workdir, header)


def test_an_ec_hub_keeps_its_key_type_across_a_restart_and_a_rollover(ec_authority, workdir, now):
    """The key type is chosen at first start: a later load asking for RSA and a rollover both keep EC P-256."""
    reloaded = CertificateAuthority.load_or_create(workdir / "ec-hub", now, hub_key_type="rsa-2048")
    assert reloaded.hub_key_type == "ec-p256"
    reloaded.rotate_hub(now)
    assert reloaded.hub_key_type == "ec-p256"
    _verify_with_openssl(reloaded, workdir, reloaded.sign(BODY))
