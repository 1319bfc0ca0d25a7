"""Settings of one `idx serve` process, from its options or the `IDX_*` environment.

This is the one home of the defaults and of the environment variables: the `idx` options take their defaults
from the fields below and read the variable `env_var` names for each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ENV_PREFIX = "IDX_"


def env_var(setting: str) -> str:
    """The environment variable of a setting: `IDX_` and the field's name in capitals (`port` → `IDX_PORT`)."""
    if setting not in Settings.__dataclass_fields__:
        raise KeyError(f"no setting {setting!r}")
    return ENV_PREFIX + setting.upper()


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    # One NATS server or a comma-separated list of a cluster's servers; without it an embedded nats-server.
    nats_url: str | None = None
    # The token the servers of `nats_url` require (or put user:password@ or token@ in the URLs).
    nats_token: str | None = field(default=None, repr=False)
    # Replicas of the exchange's JetStream streams; by default 3 on a cluster that can place them, else 1.
    stream_replicas: int | None = None
    # Holds the database's password: kept out of the settings' repr, as the secrets below are.
    database_url: str | None = field(default=None, repr=False)
    rate_limit: int = 50
    daily_quota: tuple[int, int, int] = (180_000, 35_000, 18_000)
    test_clock: bool = False
    demo: bool = False
    certificate_lifetime_days: int = 1095
    certificate_warning_days: int = 30
    housekeeping_interval: float = 10.0
    # How often a new Merkle tree head is signed while leaves arrive: the API promises at least once a second.
    tree_head_interval: float = 0.5
    # Shown on every screen of the web app, so nobody mistakes a test exchange for production.
    environment: str = "Development"
    # Plugins to load besides the installed ones, each named `module:attribute` (IDX_PLUGINS).
    plugins: tuple[str, ...] = ()
    log_level: str = "INFO"
    # HTTPS (and WSS) with this certificate chain and key (PEM); without them plain HTTP, for use behind a TLS
    # proxy or on 127.0.0.1. With `tls_client_ca` every client must also show a certificate that CA issued.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    # `/metrics` on a listener of its own at HOST:PORT (plain HTTP, for the scraper only) instead of the public port.
    metrics_bind: str | None = None
    # The type of the hub's signing key, rsa-2048 or ec-p256, chosen when the data directory is first started
    # (None: rsa-2048); later starts keep the key there is.
    hub_key_type: str | None = None
    # Processes that verify participants' signatures and make the hub's, beside the one that serves requests;
    # 0 does that work in the serving process's threads. 0 by default: on 2 CPUs a pool did not raise accepted/s
    # (docs/performance.md), since what a job moves out is about what its round trip costs.
    signing_processes: int = 0
    # Admission on the delivery lag (exchange.services.delivery_lag): a submission waits, before it is committed,
    # while delivery trails the accepted messages by more than this many seconds; 0 turns it off. Saturated on 2 CPUs
    # it brought submit → messageAvailable p99 from 3-7.5 s to 1.1-1.3 s; 0.1 s did no better (docs/performance.md).
    delivery_lag_limit: float = 0.25
    # How long such a submission waits at most for delivery to catch up; then it goes on regardless.
    delivery_lag_wait: float = 2.0
    # Processes that serve the whole API behind one port (SO_REUSEPORT), started and supervised by `idx serve`;
    # 1 serves in the one process itself.
    workers: int = 1
    # The operator client's secret on first start; without it a random one is made. Either way it is written to
    # DATA_DIR/operator.secret.
    operator_secret: str | None = field(default=None, repr=False)
    # With `database_url`, the keys the processes of one exchange share live in the database, their private parts
    # encrypted with this passphrase (IDX_KEY_PASSPHRASE); required then, unused on SQLite.
    key_passphrase: str | None = field(default=None, repr=False)


# A bearer token for the client commands that read a running exchange (`idx verify log`), instead of a client id
# and secret.
TOKEN_VARIABLE = ENV_PREFIX + "TOKEN"
