"""OAuth 2.0 client credentials: client secrets, bearer tokens, and the principal a token stands for.

Scopes are URM entities. A token is a JWT signed with the exchange's own key; it is verified on every request
and its expiry is judged by the exchange's clock (so the test clock moves it too).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import math
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import jwt

from exchange.functions.registry import Registry
from exchange.kernel.files import write_private
from flowcontrol.limits import LimitStore

# The core's own entities; each business function brings its own (see `entity_catalogue`).
CORE_ENTITIES = (
    "FCTRL_FCTRL",
    "FCTRL_STATUS",
    "TRANSLOG_TRANSLOG",
    "ARCH_RETRIEVE",
    "EVENT_NOTIFY",
    "TLS_CERTIFICATE_MANAGEMENT",
    "IDX_ADMIN",
)
TOKEN_LIFETIME = timedelta(seconds=3599)


def entity_catalogue(registry: Registry) -> tuple[str, ...]:
    """Every entity a client may hold: each registered business function's, then the core's."""
    return tuple(dict.fromkeys([*(function.entity for function in registry), *CORE_ENTITIES]))


class TokenError(Exception):
    """Missing, malformed, forged or expired bearer token (answered 401)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a client of a participant, with the entities its token carries."""

    client_id: str
    participant_id: str
    scopes: frozenset[str]

    def holds(self, entity: str) -> bool:
        return entity in self.scopes


def new_secret() -> str:
    return secrets.token_urlsafe(32)


# scrypt's CPU and memory cost (N = 2**14, r = 8: 16 MiB and ~60 ms a check here), which every check repeats.
SCRYPT_COST = 2**14


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=SCRYPT_COST, r=8, p=1)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


@functools.cache
def _unknown_client_hash() -> str:
    # Made once, on the first unknown client id, rather than at import time.
    return hash_secret(new_secret())


def secret_matches_in_constant_time(secret: str, stored: str | None) -> bool:
    """Whether `secret` matches `stored`; with no stored hash (an unknown client) scrypt runs all the same, so
    that the time of the answer does not tell known client ids from unknown ones."""
    matches = secret_matches(secret, stored if stored is not None else _unknown_client_hash())
    return matches and stored is not None


def secret_matches(secret: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(secret.encode(), salt=base64.b64decode(salt), n=SCRYPT_COST, r=8, p=1)
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def granted_scopes(requested: str | None, held: list[str]) -> list[str]:
    """Entities the client asked for and holds; names it does not hold are dropped silently."""
    if requested is None or not requested.strip():
        return list(held)
    wanted = requested.split()
    return [entity for entity in held if entity in wanted]


class FailedAttempts:
    """Failed secret checks counted per key (a client id, an address) in fixed windows; past `limit` in a window,
    every attempt of that key is refused until the window ends, the right secret included (guessing stops).

    Counted in the shared counters store, so that a guesser spreading attempts over the processes of the exchange
    is stopped after `limit` all the same."""

    def __init__(
        self, limits: LimitStore, kind: str, limit: int = 10, window: timedelta = timedelta(minutes=5)
    ) -> None:
        self._limits = limits
        self._kind = kind  # keeps a client id apart from an address that happens to be spelled the same
        self._limit = limit
        self._window = window

    async def retry_after(self, key: str, now: datetime) -> float | None:
        """Seconds until the current window ends if `key` is at the limit, else None."""
        if await self._limits.failures(self._subject(key), now, self._window) < self._limit:
            return None
        seconds = self._window.total_seconds()
        window_end = math.floor(now.timestamp() / seconds) * seconds + seconds
        return float(max(1, math.ceil(window_end - now.timestamp())))

    async def failed(self, key: str, now: datetime) -> None:
        await self._limits.count_failure(self._subject(key), now, self._window)

    def _subject(self, key: str) -> str:
        return f"{self._kind}:{key}"


class TokenIssuer:
    """Issues and verifies bearer tokens with a key kept in the data directory.

    Tokens given up at sign-out are refused from memory until they expire; the sign-out itself is recorded in the
    shared counters store (see `SignOuts`), from which every process of the exchange takes it in.
    """

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._ended: dict[str, int] = {}  # token id → its expiry (seconds since the epoch)
        self._lock = threading.Lock()

    @classmethod
    def load_or_create(cls, path: Path) -> TokenIssuer:
        if not path.exists():
            write_private(path, secrets.token_bytes(32))
        return cls(path.read_bytes())

    def issue(self, client_id: str, participant_id: str, scopes: list[str], now: datetime) -> str:
        claims = {
            "sub": client_id,
            "pid": participant_id,
            "scope": " ".join(scopes),
            "iat": int(now.timestamp()),
            "exp": int((now + TOKEN_LIFETIME).timestamp()),
            "jti": secrets.token_urlsafe(12),
        }
        return jwt.encode(claims, self._key, algorithm="HS256")

    def verify(self, token: str, now: datetime) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                options={"verify_exp": False, "verify_iat": False, "require": ["exp", "sub", "pid", "scope"]},
            )
        except jwt.InvalidTokenError as error:
            raise TokenError(f"the token is not valid: {error}") from error
        if int(claims["exp"]) <= now.timestamp():
            raise TokenError("the token has expired")
        if str(claims.get("jti")) in self._ended:
            raise TokenError("the token was given up at sign-out")
        return Principal(
            client_id=str(claims["sub"]),
            participant_id=str(claims["pid"]),
            scopes=frozenset(str(claims["scope"]).split()),
        )

    def end(self, token: str, now: datetime) -> tuple[str, int] | None:
        """Refuse this token from now on (sign-out): its id and expiry, or None for a token that is not genuine
        (ignored)."""
        try:
            claims = jwt.decode(token, self._key, algorithms=["HS256"], options={"verify_exp": False})
        except jwt.InvalidTokenError:
            return None
        if "jti" not in claims:
            return None
        ended = (str(claims["jti"]), int(claims["exp"]))
        self.take_in_ended({ended[0]: ended[1]}, now)
        return ended

    def take_in_ended(self, ended: dict[str, int], now: datetime) -> None:
        """Refuse these tokens too (id → expiry): sign-outs that other processes recorded."""
        with self._lock:
            # Forget tokens that expired anyway, so that the list holds only live ones.
            self._ended = {jti: exp for jti, exp in (self._ended | ended).items() if exp > now.timestamp()}
