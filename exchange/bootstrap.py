"""The one composition root: builds the real adapters and wires the use cases to them."""

from __future__ import annotations

import asyncio
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import aiosqlite
import nats
import structlog
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from archive.projection import ArchiveProjection
from certs.authority import CertificateAuthority
from exchange.domain.participants import Client, Participant
from exchange.eventstore.directory import Directory
from exchange.eventstore.ledger import GroupCommit, Ledger
from exchange.functions.registry import Registry
from exchange.kernel.clock import Clock
from exchange.messaging.natsserver import EmbeddedNatsServer
from exchange.messaging.notifications import Notifier, ensure_events_stream
from exchange.messaging.routing import Deliverer, Relay, ensure_stream
from exchange.readmodels.projector import Projector
from exchange.readmodels.queue import QueueProjection
from exchange.readmodels.views import open_views
from exchange.services.access import ENTITIES, TokenIssuer
from exchange.services.admission import Admission
from exchange.services.certificates import Certificates
from exchange.services.delivery_gate import DeliveryGate
from exchange.services.event_feed import EventFeed
from exchange.services.expiry_watch import ExpiryWatch
from exchange.services.flow_control import FlowControls
from exchange.services.health import Health
from exchange.services.housekeeping import Housekeeper
from exchange.services.mailbox import Mailbox
from exchange.services.participants import Administration
from exchange.services.plugin_services import CorePluginServices
from exchange.services.read_side import ReadSide
from exchange.services.standing_data import StandingDataAdmin
from exchange.services.submit import Submissions
from exchange.settings import Settings
from flowcontrol.limits import LimitStore
from translog.projection import TranslogProjection

log = structlog.get_logger(__name__)

RELAY_REPLAY = 1000
OPERATOR = "OPERATOR"
OPERATOR_CLIENT = "operator"


@dataclass
class Exchange:
    """Everything one `idx serve` process runs. Built by `start`, torn down by `stop`."""

    settings: Settings
    clock: Clock
    registry: Registry
    ledger: Ledger
    committer: GroupCommit
    directory: Directory
    authority: CertificateAuthority
    tokens: TokenIssuer
    views: aiosqlite.Connection
    nc: NatsClient
    js: JetStreamContext
    submissions: Submissions
    mailbox: Mailbox
    admin: Administration
    certificates: Certificates
    standing: StandingDataAdmin
    plugin_services: CorePluginServices
    limits: LimitStore
    flow: FlowControls
    projectors: dict[str, Projector]
    gate: DeliveryGate
    deliverer: Deliverer
    housekeeper: Housekeeper
    admission: Admission
    read_side: ReadSide
    health: Health
    event_feed: EventFeed
    nats_server: EmbeddedNatsServer | None = None
    _connections: list[aiosqlite.Connection] = field(default_factory=list)

    async def stop(self) -> None:
        await self.housekeeper.stop()
        await self.deliverer.stop()
        for projector in self.projectors.values():
            await projector.stop()
        await self.committer.stop()
        try:
            await self.nc.drain()
        except Exception:  # a drain that cannot finish must not keep the process from stopping
            await self.nc.close()
        for connection in self._connections:
            await connection.close()
        self.ledger.close()
        if self.nats_server is not None:
            await asyncio.to_thread(self.nats_server.stop)


async def start_exchange(settings: Settings, registry: Registry | None = None) -> Exchange:
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    # Request work (checks, signatures, event-store reads) runs in threads; six would queue requests behind each other.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=16, thread_name_prefix="idx"))
    clock = Clock(data_dir / "clock.offset" if settings.test_clock else None)
    registry = registry or Registry.from_entry_points()

    nats_server = None
    nats_url = settings.nats_url
    if nats_url is None:
        nats_server = EmbeddedNatsServer(data_dir / "nats")
        await asyncio.to_thread(nats_server.start)
        nats_url = nats_server.url
    nc = await nats.connect(nats_url, name="idx-serve", max_reconnect_attempts=-1)
    js = nc.jetstream(publish_async_max_pending=256)
    await ensure_stream(js)
    await ensure_events_stream(js)

    ledger = await asyncio.to_thread(Ledger.open_sqlite, data_dir / "events.sqlite")
    committer = GroupCommit(ledger)
    committer.start()
    authority = await asyncio.to_thread(CertificateAuthority.load_or_create, data_dir / "pki", clock.now())
    tokens = TokenIssuer.load_or_create(data_dir / "token.key")
    directory = Directory(ledger)

    views_path = data_dir / "views.sqlite"
    views = await open_views(views_path)
    connections = [views]
    projectors: dict[str, Projector] = {}
    # Each follower writes through a connection of its own: SQLite transactions do not nest on one connection.
    # They take turns at writing the file through one lock (see Projector).
    view_writes = asyncio.Lock()
    for handler in (Relay(js), QueueProjection(), TranslogProjection(), ArchiveProjection()):
        connection = await open_views(views_path)
        connections.append(connection)
        projectors[handler.name] = Projector(ledger, connection, handler, writes=view_writes)
    notifier_db = await open_views(views_path)
    connections.append(notifier_db)
    projectors["notifications"] = Projector(
        ledger, notifier_db, Notifier(js, projectors["queue"], directory.participant_ids), writes=view_writes
    )

    def recorded() -> None:
        """New events were committed: every follower of the log looks now rather than at its next poll."""
        for projector in projectors.values():
            projector.poke()

    # Rate limits, quotas and manual switches live in a file every process on this data directory shares.
    limits_db = await open_views(data_dir / "limits.sqlite")
    connections.append(limits_db)
    limits = LimitStore(limits_db)
    await limits.create_tables()
    gate = DeliveryGate(ledger, committer, views, projectors["queue"], registry, clock, recorded)
    admin = Administration(ledger, committer, tokens, clock)
    deliverer = Deliverer(js, gate.arrive)

    exchange = Exchange(
        settings=settings,
        clock=clock,
        registry=registry,
        ledger=ledger,
        committer=committer,
        directory=directory,
        authority=authority,
        tokens=tokens,
        views=views,
        nc=nc,
        js=js,
        submissions=Submissions(
            ledger, committer, registry, directory, authority, clock, recorded, limits, settings.daily_quota
        ),
        mailbox=Mailbox(ledger, committer, views, projectors["queue"], clock, gate.settle),
        admin=admin,
        standing=StandingDataAdmin(ledger, committer, directory),
        plugin_services=CorePluginServices(ledger, committer, directory, authority, clock, recorded),
        limits=limits,
        flow=FlowControls(gate, registry, directory, admin, ledger, limits, clock),
        certificates=Certificates(
            ledger,
            committer,
            authority,
            clock,
            settings.certificate_lifetime_days,
            expiry_warning_days=settings.certificate_warning_days,
        ),
        projectors=projectors,
        gate=gate,
        deliverer=deliverer,
        housekeeper=Housekeeper(
            views,
            ledger,
            committer,
            registry,
            clock,
            gate.settle,
            settings.housekeeping_interval,
            ExpiryWatch(ledger, committer, clock, timedelta(days=settings.certificate_warning_days)),
        ),
        admission=Admission(tokens, clock, directory, limits, settings.rate_limit),
        read_side=ReadSide(views, ledger, directory),
        health=Health(ledger, lambda: nc.is_connected),
        event_feed=EventFeed(js),
        nats_server=nats_server,
        _connections=connections,
    )
    await ensure_operator(exchange)
    for name, projector in projectors.items():
        # The relay publishes again what came just before its position: a route JetStream acked but lost with
        # a crashed nats-server comes back, and one that was not lost is dropped (Nats-Msg-Id, delivery ids).
        await projector.start(replay=RELAY_REPLAY if name == "relay" else 0)
    await deliverer.start()
    exchange.housekeeper.start()
    log.info("exchange_started", data_dir=str(data_dir), nats_url=nats_url)
    return exchange


async def ensure_operator(exchange: Exchange) -> None:
    """First start creates the market operator and its client; the secret goes to operator.secret (0600)."""
    ledger = exchange.ledger
    if await asyncio.to_thread(ledger.find, Participant, Participant.create_id(OPERATOR)) is None:
        await exchange.admin.register_participant(OPERATOR, "Market operator", [OPERATOR])
    if await asyncio.to_thread(ledger.find, Client, Client.create_id(OPERATOR_CLIENT)) is None:
        secret = os.environ.get("IDX_OPERATOR_SECRET") or secrets.token_urlsafe(32)
        await exchange.admin.add_client(OPERATOR, list(ENTITIES), client_id=OPERATOR_CLIENT, secret=secret)
        write_secret(exchange.settings.data_dir / "operator.secret", secret)


def write_secret(path: Path, secret: str) -> None:
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as secret_file:
        secret_file.write(secret + "\n")
    temporary.replace(path)
