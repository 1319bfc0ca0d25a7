"""The exchange's keys in its PostgreSQL database, so that every process sharing the database signs as one hub.

With `--database-url` the CA and hub keys and certificates, the key that signs bearer tokens and the operator
client's first secret live in the table `idx_shared_keys`, not in the data directory. Nothing secret is stored in
the clear: the private keys are PKCS#8 encrypted with the key passphrase (IDX_KEY_PASSPHRASE), the token key and the
operator secret are sealed with AES-GCM under a key derived from the same passphrase (scrypt).

Each value is written once, by whichever process gets there first (INSERT ... ON CONFLICT DO NOTHING), and every
process then uses the stored one: two first starts at the same moment still end up with the same keys.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import psycopg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from certs.authority import RSA_2048, CertificateAuthority
from certs.errors import KeyPassphraseError
from exchange.eventstore.ledger import database_parts

TABLE = "idx_shared_keys"
AUTHORITY = "authority"
# The names of rows, not secrets.
TOKEN_KEY = "token.key"  # noqa: S105
OPERATOR_SECRET = "operator.secret"  # noqa: S105
_SEALED = "scrypt-aesgcm"


class SharedKeysError(Exception):
    """The keys in the database cannot be had: the database is out of reach, or the passphrase is wrong."""


class SharedKeys:
    """The keys every process of one exchange shares, in its PostgreSQL database."""

    def __init__(self, database_url: str, passphrase: str) -> None:
        if not passphrase:
            raise SharedKeysError(
                "the exchange's keys live in the database with --database-url, encrypted: set IDX_KEY_PASSPHRASE"
            )
        parts = database_parts(database_url)
        self._where = f"{parts['host']}:{parts['port']}/{parts['dbname']}"
        self._url = database_url
        self._passphrase = passphrase.encode("utf-8")

    @classmethod
    def open(cls, database_url: str, passphrase: str | None) -> SharedKeys:
        """The keys of the database at `database_url`, creating their table when missing (a no-op after)."""
        keys = cls(database_url, passphrase or "")
        with keys._transaction() as connection:
            # Two processes creating the table at once would collide in PostgreSQL's catalogue: take turns.
            connection.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (TABLE,))
            connection.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (name text PRIMARY KEY, value text NOT NULL)")
        return keys

    def authority(self, now: datetime, hub_key_type: str = RSA_2048) -> CertificateAuthority:
        """The exchange's CA and hub, made (the hub key of `hub_key_type`) and stored by the first process to ask."""
        stored = self._stored(AUTHORITY) or self._store_once(
            AUTHORITY, lambda: json.dumps(CertificateAuthority.create(now, hub_key_type).sealed(self._passphrase))
        )
        try:
            return CertificateAuthority.unseal(json.loads(stored), self._passphrase)
        except KeyPassphraseError:
            raise self._wrong_passphrase() from None

    def token_key(self) -> bytes:
        """The key that signs and checks bearer tokens: a token issued by one process is good at every other."""
        stored = self._stored(TOKEN_KEY) or self._store_once(TOKEN_KEY, lambda: self._seal(secrets.token_bytes(32)))
        return self._open_sealed(stored)

    def operator_secret(self, proposed: str) -> str:
        """The operator client's first secret: `proposed` if no process stored one before, else the stored one."""
        stored = self._stored(OPERATOR_SECRET) or self._store_once(
            OPERATOR_SECRET, lambda: self._seal(proposed.encode("utf-8"))
        )
        return self._open_sealed(stored).decode("utf-8")

    def _stored(self, name: str) -> str | None:
        with self._transaction() as connection:
            row = connection.execute(f"SELECT value FROM {TABLE} WHERE name = %s", (name,)).fetchone()  # noqa: S608
        return None if row is None else str(row[0])

    def _store_once(self, name: str, make: Callable[[], str]) -> str:
        """Store `make()` under `name` unless another process stored a value first; the value that stands."""
        with self._transaction() as connection:
            connection.execute(
                f"INSERT INTO {TABLE} (name, value) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",  # noqa: S608
                (name, make()),
            )
            row = connection.execute(f"SELECT value FROM {TABLE} WHERE name = %s", (name,)).fetchone()  # noqa: S608
        assert row is not None  # inserted now or before, and rows are never deleted
        return str(row[0])

    def _seal(self, secret: bytes) -> str:
        salt, nonce = os.urandom(16), os.urandom(12)
        sealed = AESGCM(self._derive(salt)).encrypt(nonce, secret, None)
        return ":".join([_SEALED, *(base64.b64encode(part).decode("ascii") for part in (salt, nonce, sealed))])

    def _open_sealed(self, stored: str) -> bytes:
        kind, *parts = stored.split(":")
        if kind != _SEALED or len(parts) != 3:
            raise SharedKeysError(f"a key in {self._where} is not in a form this exchange knows ({kind})")
        salt, nonce, sealed = (base64.b64decode(part) for part in parts)
        try:
            return AESGCM(self._derive(salt)).decrypt(nonce, sealed, None)
        except InvalidTag:
            raise self._wrong_passphrase() from None

    def _derive(self, salt: bytes) -> bytes:
        return Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(self._passphrase)

    def _wrong_passphrase(self) -> SharedKeysError:
        return SharedKeysError(
            f"IDX_KEY_PASSPHRASE does not open the exchange's keys in {self._where}: "
            "give the passphrase the first process of this exchange was started with"
        )

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        try:
            with psycopg.connect(self._url, connect_timeout=10) as connection, connection.transaction():
                yield connection
        except psycopg.OperationalError as error:
            raise SharedKeysError(f"cannot reach the database {self._where}: {error}") from error
