"""The keys processes of one exchange share in its PostgreSQL database (a fresh database of the test cluster)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import psycopg
import pytest

from certs.signature import parse_signature_header, verify_detached
from exchange.eventstore.shared_keys import SharedKeys, SharedKeysError
from exchange.kernel.network import free_port

NOW = datetime(2026, 7, 1, tzinfo=UTC)
PASSPHRASE = "correct horse battery staple"


def test_two_processes_opening_the_keys_get_the_same_ones(postgres_url: str) -> None:
    """A second opening of the database (another process) has the first one's CA, hub, token key and secret."""
    first = SharedKeys.open(postgres_url, PASSPHRASE)
    authority, token_key, secret = first.authority(NOW), first.token_key(), first.operator_secret("first-secret")
    second = SharedKeys.open(postgres_url, PASSPHRASE)
    again = second.authority(NOW)
    assert again.ca_certificate == authority.ca_certificate
    assert again.hub_certificate == authority.hub_certificate
    assert verify_detached(parse_signature_header(again.sign(b"x")), b"x") == authority.hub_certificate
    assert second.token_key() == token_key
    assert len(token_key) == 32
    assert second.operator_secret("another-secret") == secret == "first-secret"


def test_processes_starting_together_end_up_with_one_set_of_keys(postgres_url: str) -> None:
    """Four first starts at the same moment each make keys, but all use the one that was stored first."""

    def start() -> tuple[bytes, bytes, str]:
        keys = SharedKeys.open(postgres_url, PASSPHRASE)
        authority = keys.authority(NOW)
        return authority.ca_pem().encode() + authority.hub_pem().encode(), keys.token_key(), keys.operator_secret("x")

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: start(), range(4)))
    assert len(set(results)) == 1


def test_nothing_secret_is_stored_in_the_clear(postgres_url: str) -> None:
    """The table holds encrypted private keys, and neither the token key nor the operator secret as given."""
    keys = SharedKeys.open(postgres_url, PASSPHRASE)
    keys.authority(NOW)
    token_key = keys.token_key()
    keys.operator_secret("operator-secret-in-the-clear")
    with psycopg.connect(postgres_url) as connection:
        stored = "".join(str(value) for (value,) in connection.execute("SELECT value FROM idx_shared_keys"))
    assert stored.count("BEGIN ENCRYPTED PRIVATE KEY") == 2
    assert "BEGIN PRIVATE KEY" not in stored
    assert "operator-secret-in-the-clear" not in stored
    assert token_key.hex() not in stored


@pytest.mark.parametrize("kind", ["authority", "token key", "operator secret"])
def test_a_wrong_passphrase_is_refused_naming_the_setting(postgres_url: str, kind: str) -> None:
    """Whichever key is read first, another passphrase than the first process's gives a clear SharedKeysError."""
    stored = SharedKeys.open(postgres_url, PASSPHRASE)
    stored.authority(NOW)
    stored.token_key()
    stored.operator_secret("s")
    wrong = SharedKeys.open(postgres_url, "not the passphrase")
    read = {
        "authority": lambda: wrong.authority(NOW),
        "token key": wrong.token_key,
        "operator secret": lambda: wrong.operator_secret("s"),
    }
    with pytest.raises(SharedKeysError, match="IDX_KEY_PASSPHRASE does not open"):
        read[kind]()


def test_a_missing_passphrase_is_refused_before_the_database_is_touched() -> None:
    """No passphrase, no keys: the error says which variable to set."""
    with pytest.raises(SharedKeysError, match="IDX_KEY_PASSPHRASE"):
        SharedKeys.open("postgresql://idx:pw@127.0.0.1:1/none", None)


def test_a_database_out_of_reach_is_a_clear_error() -> None:
    """A database nobody listens for gives a SharedKeysError naming where it was looked for, not a driver trace."""
    port = free_port()
    with pytest.raises(SharedKeysError, match=f"cannot reach the database 127.0.0.1:{port}/none"):
        SharedKeys.open(f"postgresql://idx:pw@127.0.0.1:{port}/none", PASSPHRASE)


def test_opening_again_leaves_the_table_as_it_was(postgres_url: str) -> None:
    """Creating the table is idempotent: a second open keeps every stored row."""
    SharedKeys.open(postgres_url, PASSPHRASE).token_key()
    SharedKeys.open(postgres_url, PASSPHRASE)
    with psycopg.connect(postgres_url) as connection:
        assert connection.execute("SELECT count(*) FROM idx_shared_keys").fetchone() == (1,)
