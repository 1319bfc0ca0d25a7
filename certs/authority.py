"""The exchange certificate authority: the root key and certificate, and the hub signing key and certificate.

Files under the authority's directory: ca.key, ca.pem, hub.key, hub.pem, and one hub-<serial>.pem per hub
certificate retired by a rollover (`rotate_hub`). Retired hub keys are not kept: they sign nothing more, and the
receipts they signed embed their certificate, which still chains to the unchanged CA.

Processes that share one database share one authority instead (`create`, `sealed`, `unseal`): its four PEM texts
with both private keys encrypted under a passphrase (PKCS#8, cryptography's best available encryption).

Leaf of the project: imports nothing outside `certs`.
"""

import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Self

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from certs import profiles
from certs.chain import serial_hex
from certs.crl import RevokedEntry, build_crl
from certs.csr import load_and_check_csr
from certs.errors import KeyPassphraseError
from certs.fast_signer import TemplateSigner
from certs.signature import SigningKey

CA_COMMON_NAME = "IDX Exchange CA"
HUB_COMMON_NAME = "IDX Exchange Hub"
CA_KEY_BITS = 3072
HUB_KEY_BITS = 2048
# The hub's key types (`--hub-key-type`), chosen when the hub key is made; a P-256 signature costs about a tenth
# of the CPU time of an RSA 2048 one.
RSA_2048 = "rsa-2048"
EC_P256 = "ec-p256"
HUB_KEY_TYPES = (RSA_2048, EC_P256)
PARTICIPANT_LIFETIME_DAYS = 1095
RESERVED_COMMON_NAMES = frozenset({CA_COMMON_NAME, HUB_COMMON_NAME})
_RETIRED_HUB_PREFIX = "hub-"


class CertificateAuthority:
    """Issues participant certificates and signs as the hub."""

    def __init__(
        self,
        ca_key: rsa.RSAPrivateKey,
        ca_certificate: x509.Certificate,
        hub_key: SigningKey,
        hub_certificate: x509.Certificate,
        previous_hub_certificates: Sequence[x509.Certificate] = (),
        directory: Path | None = None,
    ) -> None:
        self._ca_key = ca_key
        self._ca_certificate = ca_certificate
        self._hub_key = hub_key
        self._hub_certificate = hub_certificate
        self._hub_signer = TemplateSigner(hub_certificate, hub_key)
        self._previous_hub_certificates = list(previous_hub_certificates)
        self._directory = directory

    @classmethod
    def load_or_create(cls, directory: Path, now: datetime, hub_key_type: str = RSA_2048) -> Self:
        """Load the CA and hub from `directory`, creating whichever is missing.

        `hub_key_type` (one of HUB_KEY_TYPES) is the type of a hub key made now; a hub key that exists keeps its
        type, as does a rollover. Files are written in the order ca.key, ca.pem, hub.key, hub.pem, each
        atomically, so a crash part way leaves a prefix of them and calling again completes the set.
        """
        directory.mkdir(parents=True, exist_ok=True)
        ca_pem_path = directory / "ca.pem"
        ca_key = _load_or_create_key(directory / "ca.key", CA_KEY_BITS, replace=not ca_pem_path.exists())
        ca_certificate = _load_certificate(ca_pem_path)
        if ca_certificate is None:
            ca_certificate = profiles.build_ca_certificate(ca_key, CA_COMMON_NAME, now)
            _write_atomically(ca_pem_path, _pem(ca_certificate), mode=0o600)
        hub_key, hub_certificate = _load_or_create_hub(directory, ca_key, ca_certificate, now, hub_key_type)
        previous = [c for c in _retired_hub_certificates(directory) if c != hub_certificate]
        return cls(ca_key, ca_certificate, hub_key, hub_certificate, previous, directory)

    @classmethod
    def create(cls, now: datetime, hub_key_type: str = RSA_2048) -> Self:
        """A new CA and hub (its key of `hub_key_type`), held in memory only: `sealed` gives what to store."""
        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=CA_KEY_BITS)
        ca_certificate = profiles.build_ca_certificate(ca_key, CA_COMMON_NAME, now)
        hub_key = _new_hub_key(hub_key_type)
        return cls(ca_key, ca_certificate, hub_key, _hub_certificate(hub_key, ca_key, ca_certificate, now))

    def sealed(self, passphrase: bytes) -> dict[str, str]:
        """The CA and hub as PEM texts (ca.key, ca.pem, hub.key, hub.pem), the keys encrypted with `passphrase`."""
        encryption = serialization.BestAvailableEncryption(passphrase)
        return {
            "ca.key": _encrypted_pem(self._ca_key, encryption),
            "ca.pem": self.ca_pem(),
            "hub.key": _encrypted_pem(self._hub_key, encryption),
            "hub.pem": self.hub_pem(),
        }

    @classmethod
    def unseal(cls, sealed: Mapping[str, str], passphrase: bytes) -> Self:
        """The authority `sealed` gave; KeyPassphraseError when `passphrase` does not open its keys."""
        ca_key = _decrypted_key(sealed["ca.key"], passphrase)
        if not isinstance(ca_key, rsa.RSAPrivateKey):
            raise KeyPassphraseError("the exchange's stored CA key is not an RSA private key")
        hub_key = _decrypted_key(sealed["hub.key"], passphrase)
        ca_certificate = x509.load_pem_x509_certificate(sealed["ca.pem"].encode("ascii"))
        hub_certificate = x509.load_pem_x509_certificate(sealed["hub.pem"].encode("ascii"))
        return cls(ca_key, ca_certificate, hub_key, hub_certificate)

    def rotate_hub(self, now: datetime) -> x509.Certificate:
        """Retire the hub key and certificate and make new ones; return the new hub certificate.

        The retired certificate is kept as hub-<serial>.pem (and published as a previous hub certificate), so
        receipts signed before the rollover still verify against the unchanged CA. Crash-safe: the retired
        certificate is archived before hub.pem is removed, and a missing hub.pem makes the next load create a
        new key and certificate, exactly as a completed rotation would.
        """
        if self._directory is None:
            raise RuntimeError("only an authority loaded from a directory can rotate its hub key")
        retired = self._hub_certificate
        archive = self._directory / f"{_RETIRED_HUB_PREFIX}{serial_hex(retired)}.pem"
        _write_atomically(archive, _pem(retired), mode=0o600)
        (self._directory / "hub.pem").unlink()
        _fsync_directory(self._directory)
        self._hub_key, self._hub_certificate = _load_or_create_hub(
            self._directory, self._ca_key, self._ca_certificate, now, self.hub_key_type
        )
        self._hub_signer = TemplateSigner(self._hub_certificate, self._hub_key)
        self._previous_hub_certificates.insert(0, retired)
        return self._hub_certificate

    @property
    def ca_certificate(self) -> x509.Certificate:
        """The self-signed root certificate every exchange certificate chains to."""
        return self._ca_certificate

    @property
    def hub_certificate(self) -> x509.Certificate:
        """The certificate of the hub's signing key (receipts and re-signed payloads)."""
        return self._hub_certificate

    @property
    def hub_key_type(self) -> str:
        """The type of the hub's key, as `--hub-key-type` names it."""
        return EC_P256 if isinstance(self._hub_key, ec.EllipticCurvePrivateKey) else RSA_2048

    @property
    def previous_hub_certificates(self) -> list[x509.Certificate]:
        """Hub certificates retired by rollovers, newest first: old receipts name one of these as signer."""
        return list(self._previous_hub_certificates)

    def ca_pem(self) -> str:
        """The CA certificate as PEM text."""
        return _pem(self._ca_certificate).decode("ascii")

    def hub_pem(self) -> str:
        """The hub certificate as PEM text."""
        return _pem(self._hub_certificate).decode("ascii")

    def hub_key_pem(self) -> bytes:
        """The hub's private key as unencrypted PKCS#8 PEM, for processes of this exchange that sign as the hub."""
        return self._hub_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def previous_hub_pems(self) -> list[str]:
        """The retired hub certificates as PEM text, newest first."""
        return [_pem(c).decode("ascii") for c in self._previous_hub_certificates]

    def issue(
        self,
        csr_pem: bytes,
        participant_id: str,
        now: datetime,
        lifetime_days: int = PARTICIPANT_LIFETIME_DAYS,
        *,
        not_after: datetime | None = None,
    ) -> x509.Certificate:
        """Check a participant's CSR and issue its certificate directly from the CA.

        The certificate lasts `lifetime_days` from now, or until `not_after` when given (a reissue keeps the
        term of the certificate it replaces); never past the CA's own expiry.
        Raises certs.errors.CsrRejectedError when the CSR is not acceptable.
        """
        csr = load_and_check_csr(csr_pem, participant_id, reserved_common_names=RESERVED_COMMON_NAMES)
        public_key = csr.public_key()
        assert isinstance(public_key, profiles.CertificateKey)  # load_and_check_csr admits only RSA and EC
        return profiles.build_signing_certificate(
            ca_key=self._ca_key,
            ca_certificate=self._ca_certificate,
            subject=csr.subject,
            public_key=public_key,
            not_before=now - profiles.BACKDATE,
            not_after=min(
                not_after if not_after is not None else now + timedelta(days=lifetime_days),
                self._ca_certificate.not_valid_after_utc,
            ),
            usages=profiles.PARTICIPANT_USAGES,
        )

    def sign(self, data: bytes) -> str:
        """Sign `data` as the hub: a detached CMS signature in the header form, prefixed as the hub key's type calls
        for (`RSA-SHA256;<base64 DER>` for an RSA hub key, `ECDSA-SHA256;` for an EC one). Thread-safe."""
        return self._hub_signer.sign(data)

    def revocation_list(
        self, revoked: Iterable[RevokedEntry], now: datetime, number: int
    ) -> x509.CertificateRevocationList:
        """The CA's CRL listing `revoked`, valid from `now`, with CRL number `number` (see certs.crl)."""
        return build_crl(self._ca_key, self._ca_certificate, revoked, now, number)


def _load_or_create_hub(
    directory: Path, ca_key: rsa.RSAPrivateKey, ca_certificate: x509.Certificate, now: datetime, key_type: str
) -> tuple[SigningKey, x509.Certificate]:
    hub_pem_path = directory / "hub.pem"
    hub_key = _load_or_create_hub_key(directory / "hub.key", key_type, replace=not hub_pem_path.exists())
    hub_certificate = _load_certificate(hub_pem_path)
    if hub_certificate is None:
        hub_certificate = _hub_certificate(hub_key, ca_key, ca_certificate, now)
        _write_atomically(hub_pem_path, _pem(hub_certificate), mode=0o600)
    return hub_key, hub_certificate


def _hub_certificate(
    hub_key: SigningKey, ca_key: rsa.RSAPrivateKey, ca_certificate: x509.Certificate, now: datetime
) -> x509.Certificate:
    """The hub's certificate for `hub_key`, issued by the CA from `now` (a new hub, or a rotation)."""
    return profiles.build_signing_certificate(
        ca_key=ca_key,
        ca_certificate=ca_certificate,
        subject=profiles.hub_subject(HUB_COMMON_NAME),
        public_key=hub_key.public_key(),
        not_before=now - profiles.BACKDATE,
        not_after=min(now + profiles.HUB_LIFETIME, ca_certificate.not_valid_after_utc),
        usages=profiles.HUB_USAGES,
    )


def _encrypted_pem(key: SigningKey, encryption: serialization.KeySerializationEncryption) -> str:
    encoded = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    return encoded.decode("ascii")


def _decrypted_key(pem: str, passphrase: bytes) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password=passphrase)
    except (ValueError, TypeError) as error:
        # cryptography says "Bad decrypt. Incorrect password?" (or that a password is missing): the operator
        # needs to hear which setting is wrong, not how PKCS#8 failed.
        raise KeyPassphraseError("the key passphrase does not open the exchange's private keys") from error
    if not isinstance(key, rsa.RSAPrivateKey) and not (
        isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)
    ):
        raise KeyPassphraseError("the exchange's stored key is neither an RSA nor an EC P-256 private key")
    return key


def _retired_hub_certificates(directory: Path) -> list[x509.Certificate]:
    found = [x509.load_pem_x509_certificate(p.read_bytes()) for p in directory.glob(f"{_RETIRED_HUB_PREFIX}*.pem")]
    return sorted(found, key=lambda c: (c.not_valid_before_utc, c.serial_number), reverse=True)


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _load_certificate(path: Path) -> x509.Certificate | None:
    if not path.exists():
        return None
    return x509.load_pem_x509_certificate(path.read_bytes())


def _load_or_create_key(path: Path, bits: int, *, replace: bool) -> rsa.RSAPrivateKey:
    # A key whose certificate was never written has signed nothing, so it is safe to replace it.
    if path.exists() and not replace:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TypeError(f"{path} does not hold an RSA private key")
        return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    encoded = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_atomically(path, encoded, mode=0o600)
    return key


def _load_or_create_hub_key(path: Path, key_type: str, *, replace: bool) -> SigningKey:
    # As _load_or_create_key, for either type; a key on disk keeps its type whatever `key_type` says.
    if key_type not in HUB_KEY_TYPES:
        raise ValueError(f"hub key type {key_type!r} is not one of {', '.join(HUB_KEY_TYPES)}")
    if path.exists() and not replace:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if isinstance(key, rsa.RSAPrivateKey) or (
            isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)
        ):
            return key
        raise TypeError(f"{path} holds neither an RSA nor an EC P-256 private key")
    if key_type == RSA_2048:
        return _load_or_create_key(path, HUB_KEY_BITS, replace=True)
    created = _new_hub_key(key_type)
    encoded = created.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_atomically(path, encoded, mode=0o600)
    return created


def _new_hub_key(key_type: str) -> SigningKey:
    if key_type not in HUB_KEY_TYPES:
        raise ValueError(f"hub key type {key_type!r} is not one of {', '.join(HUB_KEY_TYPES)}")
    if key_type == RSA_2048:
        return rsa.generate_private_key(public_exponent=65537, key_size=HUB_KEY_BITS)
    return ec.generate_private_key(ec.SECP256R1())


def _write_atomically(path: Path, data: bytes, *, mode: int) -> None:
    # Certificates are written 0600 too: everything in a data directory is its owner's alone, and whoever needs
    # a certificate gets it from the exchange's API.
    # Temp file in the same directory + rename: readers see the old file or the whole new one, never a part.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(path: Path) -> None:
    directory = os.open(path, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
