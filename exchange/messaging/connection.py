"""The exchange's own connection to NATS: one server or a cluster, credentials, reconnects that are logged."""

from __future__ import annotations

import contextlib
from urllib.parse import urlsplit

import structlog
from nats.aio.client import Client as NatsClient

log = structlog.get_logger(__name__)

# Seconds between rounds of reconnect attempts over the server list. Short: a cluster that lost one node has the
# others ready at once, and a restarted embedded server is back within a second.
RECONNECT_TIME_WAIT = 0.5
# Rounds over the server list before a first connection is given up (about 15 s): long enough for a cluster
# started together with the exchange, short enough that a wrong address or token stops `idx serve` with a message.
INITIAL_ROUNDS = 30


class NatsUnavailableError(ConnectionError):
    """No server of `--nats-url` took the first connection: down, unreachable, or refusing the credentials."""


def nats_servers(url: str) -> list[str]:
    """The servers of a `--nats-url`: one URL or a comma-separated list of a cluster's servers."""
    servers = [part.strip() for part in url.split(",") if part.strip()]
    if not servers:
        raise ValueError("--nats-url names no server")
    for server in servers:
        parts = urlsplit(server if "://" in server else f"nats://{server}")
        if parts.scheme not in {"nats", "tls"} or not parts.hostname:
            raise ValueError(f"not a NATS server address: {without_credentials(server)!r} (nats://HOST:PORT)")
    return servers


def without_credentials(url: str) -> str:
    """A NATS URL or list of URLs without the token or password any of them may carry: for logs."""

    def one(server: str) -> str:
        scheme, _, rest = server.strip().rpartition("://")
        return f"{scheme}://{rest.rpartition('@')[2]}" if scheme else rest.rpartition("@")[2]

    return ",".join(one(server) for server in url.split(","))


async def connect_nats(
    url: str, *, token: str | None = None, name: str = "idx-serve", initial_rounds: int = INITIAL_ROUNDS
) -> NatsClient:
    """Connect to the servers of `url`, then keep reconnecting for ever, to any server of the cluster.

    nats-py learns the cluster's other servers from the one it reaches and tries them all in turn: the
    supervised embedded nats-server comes back after a crash, an external one after its restart, and a cluster
    carries on without a lost node. Credentials are the token given, or the user and password or token in the URLs.
    The first connection is tried for `initial_rounds` rounds only, then NatsUnavailableError says why.
    """
    last_failure: Exception | None = None
    # A refusal of the credentials says the most; a reset that follows it (the server closing on us) must not hide it.
    refusal: Exception | None = None

    async def disconnected() -> None:
        if not nc.is_closed:  # closing disconnects too: only a lost server is worth a warning
            log.warning("nats_disconnected")

    async def reconnected() -> None:
        server = nc.connected_url
        log.info("nats_reconnected", server=f"{server.hostname}:{server.port}" if server else None)

    async def failed(error: Exception) -> None:
        nonlocal last_failure, refusal
        last_failure = error
        if "Authorization" in repr(error):
            refusal = error
        # Attempts to reach a server that is down come here too, once per server and round: a warning.
        log.warning("nats_error", error=repr(error))

    async def closed() -> None:
        log.info("nats_closed")

    nc = NatsClient()
    try:
        await nc.connect(
            servers=nats_servers(url),
            token=token or None,
            name=name,
            max_reconnect_attempts=initial_rounds,
            reconnect_time_wait=RECONNECT_TIME_WAIT,  # type: ignore[arg-type]  # nats-py takes seconds as a float
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
            error_cb=failed,
            closed_cb=closed,
        )
    except Exception as error:
        with contextlib.suppress(Exception):
            await nc.close()
        reason = repr(refusal or last_failure or error)
        hint = " (check IDX_NATS_TOKEN or the credentials in the URL)" if "Authorization" in reason else ""
        raise NatsUnavailableError(
            f"no NATS server of {without_credentials(url)} took a connection: {reason}{hint}"
        ) from error
    # Connected: from now on a lost server is never given up on (nats-py reads this option at each attempt).
    nc.options["max_reconnect_attempts"] = -1
    return nc
