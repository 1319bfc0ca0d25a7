"""Client secrets, bearer tokens and the scopes a client is granted."""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from exchange.functions.registry import Registry
from exchange.services.access import (
    TOKEN_LIFETIME,
    TokenError,
    TokenIssuer,
    entity_catalogue,
    granted_scopes,
    hash_secret,
    new_secret,
    secret_matches,
)

NOW = datetime(2026, 7, 1, 0, 0, 0, 250_000, tzinfo=UTC)
SCOPES = ["PQD_BPQD", "EVENT_NOTIFY"]


@pytest.fixture
def issuer() -> TokenIssuer:
    return TokenIssuer(b"k" * 32)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_token_round_trip_carries_client_participant_and_scopes(issuer: TokenIssuer) -> None:
    """A token issued for a client verifies to that client, its participant and exactly its scopes."""
    token = issuer.issue("mc1-abcd", "MC1", SCOPES, NOW)
    principal = issuer.verify(token, NOW + timedelta(seconds=1))
    assert principal.client_id == "mc1-abcd"
    assert principal.participant_id == "MC1"
    assert principal.scopes == frozenset(SCOPES)
    assert principal.holds("PQD_BPQD")
    assert not principal.holds("IDX_ADMIN")


def test_token_with_no_scopes_verifies_to_no_scopes(issuer: TokenIssuer) -> None:
    """A token granted no entity verifies to an empty scope set, not to a blank entity name."""
    principal = issuer.verify(issuer.issue("c", "MC1", [], NOW), NOW)
    assert principal.scopes == frozenset()


def test_token_is_valid_until_its_lifetime_ends_by_the_given_clock(issuer: TokenIssuer) -> None:
    """Expiry is judged by the `now` passed in: valid just before the lifetime ends, refused from then on."""
    token = issuer.issue("c", "MC1", SCOPES, NOW)
    issuer.verify(token, NOW + TOKEN_LIFETIME - timedelta(seconds=1))
    with pytest.raises(TokenError, match="expired"):
        issuer.verify(token, NOW + TOKEN_LIFETIME)
    with pytest.raises(TokenError, match="expired"):
        issuer.verify(token, NOW + timedelta(days=1))


def test_token_of_another_issuer_key_is_refused(issuer: TokenIssuer) -> None:
    """A token signed with a different key is refused."""
    foreign = TokenIssuer(b"f" * 32).issue("c", "MC1", SCOPES, NOW)
    with pytest.raises(TokenError):
        issuer.verify(foreign, NOW)


def test_tampered_token_is_refused(issuer: TokenIssuer) -> None:
    """Changing the claims of a signed token (here: widening its scopes) invalidates it."""
    header, _, signature = issuer.issue("c", "MC1", ["PQD_BPQD"], NOW).split(".")
    claims = _claims(issuer.issue("c", "MC1", ["PQD_BPQD"], NOW))
    claims["scope"] = "PQD_BPQD IDX_ADMIN"
    forged = f"{header}.{_b64url(json.dumps(claims).encode())}.{signature}"
    with pytest.raises(TokenError):
        issuer.verify(forged, NOW)


@pytest.mark.parametrize("token", ["", "not-a-token", "a.b.c", "a.b"])
def test_malformed_token_is_refused(issuer: TokenIssuer, token: str) -> None:
    """Strings that are not signed tokens are refused with TokenError, not another exception."""
    with pytest.raises(TokenError):
        issuer.verify(token, NOW)


def test_unsigned_token_is_refused(issuer: TokenIssuer) -> None:
    """A token with algorithm `none` and the right claims is refused."""
    claims = _claims(issuer.issue("c", "MC1", SCOPES, NOW))
    header = _b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    unsigned = f"{header}.{_b64url(json.dumps(claims).encode())}."
    with pytest.raises(TokenError):
        issuer.verify(unsigned, NOW)


def test_secret_hash_matches_the_right_secret_only() -> None:
    """A stored secret hash matches its secret and no other; hashes are salted so equal secrets differ."""
    secret = new_secret()
    stored = hash_secret(secret)
    assert secret_matches(secret, stored)
    assert not secret_matches(secret + "x", stored)
    assert not secret_matches(new_secret(), stored)
    assert hash_secret(secret) != stored
    assert secret not in stored


@pytest.mark.parametrize("stored", ["", "plain", "bcrypt$a$b", "scrypt$only-two"])
def test_secret_does_not_match_a_malformed_stored_hash(stored: str) -> None:
    """A stored value that is not an scrypt hash matches nothing."""
    assert not secret_matches("anything", stored)


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        (None, ["PQD_BPQD", "EVENT_NOTIFY", "TRANSLOG_TRANSLOG"]),
        ("", ["PQD_BPQD", "EVENT_NOTIFY", "TRANSLOG_TRANSLOG"]),
        ("   ", ["PQD_BPQD", "EVENT_NOTIFY", "TRANSLOG_TRANSLOG"]),
        ("PQD_BPQD", ["PQD_BPQD"]),
        ("EVENT_NOTIFY  PQD_BPQD", ["PQD_BPQD", "EVENT_NOTIFY"]),
        ("PQD_BPQD IDX_ADMIN", ["PQD_BPQD"]),
        ("IDX_ADMIN", []),
    ],
)
def test_granted_scopes_are_the_requested_ones_held(requested: str | None, expected: list[str]) -> None:
    """Requested entities not held are dropped; no request (or a blank one) grants everything held."""
    held = ["PQD_BPQD", "EVENT_NOTIFY", "TRANSLOG_TRANSLOG"]
    assert granted_scopes(requested, held) == expected
    assert set(expected) <= set(entity_catalogue(Registry.from_entry_points()))


def test_load_or_create_makes_a_private_key_and_reuses_it(tmp_path: Path) -> None:
    """The first call writes a 0600 key file; later calls load the same key, so earlier tokens stay valid."""
    path = tmp_path / "token.key"
    first = TokenIssuer.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_bytes()
    assert len(key) >= 32
    token = first.issue("c", "MC1", SCOPES, NOW)

    second = TokenIssuer.load_or_create(path)
    assert path.read_bytes() == key
    assert second.verify(token, NOW).participant_id == "MC1"
    assert list(tmp_path.iterdir()) == [path]


def test_load_or_create_in_another_directory_makes_a_different_key(tmp_path: Path) -> None:
    """Two data directories get two keys: a token of one exchange is refused by the other."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    token = TokenIssuer.load_or_create(tmp_path / "a" / "token.key").issue("c", "MC1", SCOPES, NOW)
    with pytest.raises(TokenError):
        TokenIssuer.load_or_create(tmp_path / "b" / "token.key").verify(token, NOW)
