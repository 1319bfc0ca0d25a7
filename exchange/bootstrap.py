"""The one composition root: builds the real adapters and wires the use cases to them."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import IO

import structlog
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from archive.projection import ArchiveProjection
from certs.authority import RSA_2048, CertificateAuthority
from exchange.domain.participants import Client, Participant
from exchange.eventstore.accepted import AcceptedMessages
from exchange.eventstore.directory import Directory
from exchange.eventstore.ledger import GroupCommit, Ledger, create_postgres_tables, persistence_for
from exchange.eventstore.postgres_counters import PostgresCounters
from exchange.eventstore.postgres_views import StalledTransactions, name_sessions, open_views_for
from exchange.eventstore.shared_keys import SharedKeys
from exchange.functions.registry import Registry
from exchange.kernel.clock import Clock
from exchange.kernel.errors import ConflictError
from exchange.kernel.files import claim_data_dir, write_private
from exchange.kernel.memory import limit_arenas, periodic_release
from exchange.kernel.tasks import Repeating
from exchange.messaging.commit_signal import CommitSignal
from exchange.messaging.connection import connect_nats, without_credentials
from exchange.messaging.natsserver import EmbeddedNatsServer
from exchange.messaging.notifications import STREAM as EVENTS_STREAM
from exchange.messaging.notifications import Notifier, ensure_events_stream
from exchange.messaging.recounts import Recounts
from exchange.messaging.route_backlog import routes_stage
from exchange.messaging.routing import STREAM, Deliverer, Relay, ensure_stream
from exchange.messaging.stream_watchdog import StuckStreamWatchdog
from exchange.messaging.streams import default_replicas
from exchange.readmodels.acknowledgements import Acknowledgements, AcknowledgementsProjection
from exchange.readmodels.flow_history import FlowHistory, FlowHistoryProjection
from exchange.readmodels.leases import LeaseKeeper, Leases, new_holder
from exchange.readmodels.merkle_log import MerkleLogProjection
from exchange.readmodels.participants import ParticipantList, ParticipantsProjection
from exchange.readmodels.plugin_aggregates import (
    PluginAggregates,
    PluginMessages,
    plugin_aggregates_projections,
    plugin_messages_projections,
)
from exchange.readmodels.projector import Handler, LogFollower, Projector
from exchange.readmodels.queue import QueueProjection
from exchange.readmodels.views import ViewsConnection, open_views
from exchange.services.access import TokenIssuer
from exchange.services.admission import Admission
from exchange.services.certificates import Certificates
from exchange.services.cross_process import CrossProcessRefresh, SignOuts
from exchange.services.delivery_gate import DeliveryGate
from exchange.services.delivery_lag import REFRESH as LAG_REFRESH
from exchange.services.delivery_lag import DeliveryLag, LagAdmission, Stage, log_stage
from exchange.services.event_feed import EventFeed
from exchange.services.evidence import EvidenceBundles
from exchange.services.expiry_watch import ExpiryWatch
from exchange.services.flow_control import FlowControls
from exchange.services.health import Health
from exchange.services.housekeeping import Housekeeper
from exchange.services.mailbox import Mailbox
from exchange.services.metrics import MetricsSampler
from exchange.services.participants import Administration
from exchange.services.plugin_services import CorePluginServices
from exchange.services.read_side import ReadSide
from exchange.services.signature_work import SignatureWork
from exchange.services.signatures import ParticipantSignatures
from exchange.services.standing_data import StandingDataAdmin
from exchange.services.submit import Submissions
from exchange.services.verifiable_log import VerifiableLog
from exchange.settings import Settings
from flowcontrol.limits import LimitStore
from translog.projection import TranslogProjection

log = structlog.get_logger(__name__)

RELAY_REPLAY = 1000
# The followers that publish to JetStream: when one stays stuck, a stream of the embedded server may need a restart.
JETSTREAM_PUBLISHERS = ("relay", "notifications")
# The followers that are not projectors of the log; each runs under a lease of that name, as each projector does.
LEASED_TASKS = ("deliverer", "housekeeping", "tree_heads")
OPERATOR = "OPERATOR"
OPERATOR_CLIENT = "operator"


@dataclass
class Services:
    """The use cases wired on their adapters. Building them starts no server and follows no log."""

    clock: Clock
    registry: Registry
    ledger: Ledger
    committer: GroupCommit
    directory: Directory
    authority: CertificateAuthority
    tokens: TokenIssuer
    views: ViewsConnection
    limits: LimitStore
    queue: Projector
    submissions: Submissions
    mailbox: Mailbox
    admin: Administration
    certificates: Certificates
    standing: StandingDataAdmin
    plugin_services: CorePluginServices
    flow: FlowControls
    gate: DeliveryGate
    expiry_watch: ExpiryWatch
    housekeeper: Housekeeper
    admission: Admission
    read_side: ReadSide
    metrics: MetricsSampler
    merkle_log: Projector
    verifiable_log: VerifiableLog
    evidence: EvidenceBundles
    sign_outs: SignOuts
    # Holds submissions back while delivery trails the log (off unless a limit is given).
    pace: LagAdmission
    # The projectors of the lists (participants, flow-control history, the plugins' aggregates), by name.
    lists: dict[str, Projector]
    # Every follower of the log, poked when new events are committed; the queue projector is the first.
    followers: list[Projector] = field(default_factory=list)
    # Where signatures are checked and made (in threads, or in processes of their own).
    signature_work: SignatureWork | None = None

    async def close(self) -> None:
        """Stop the group commit and close the event store; the connections passed in stay their owner's."""
        await self.committer.stop()
        self.ledger.close()
        if self.signature_work is not None:
            await asyncio.to_thread(self.signature_work.close)


async def build_services(
    *,
    persistence: Mapping[str, str],
    views: ViewsConnection,
    limits: LimitStore,
    clock: Clock,
    registry: Registry,
    authority: CertificateAuthority,
    tokens: TokenIssuer,
    queue_views: ViewsConnection | None = None,
    view_writes: asyncio.Lock | None = None,
    daily_quota: tuple[int, int, int] = Settings.daily_quota,
    certificate_lifetime_days: int = Settings.certificate_lifetime_days,
    certificate_warning_days: int = Settings.certificate_warning_days,
    housekeeping_interval: float = Settings.housekeeping_interval,
    rate_limit: int = Settings.rate_limit,
    tree_head_interval: float = Settings.tree_head_interval,
    signature_work: SignatureWork | None = None,
    delivery_lag_limit: float = 0.0,
    delivery_lag_wait: float = Settings.delivery_lag_wait,
    delivery_lag_refresh: float = LAG_REFRESH,
    delivery_path: Mapping[str, Sequence[str]] | None = None,
    delivery_stages: Sequence[Stage] = (),
) -> Services:
    """Wire every use case on an event store of any eventsourcing persistence module, in-memory included.

    `views` holds the read models the use cases query; the queue projector writes through `queue_views` (a
    connection of its own when several followers share one file, since SQLite transactions do not nest on one
    connection). Nothing follows the log in the background here: `start_exchange` starts the followers, and
    without them the queue view catches up whenever a use case waits for it.

    The delivery lag counts the log against the followers of `delivery_path` (name → topics; by default the queue,
    all that follows the log here) plus `delivery_stages`; its limit is off by default here, where nothing follows
    the log by itself.
    """
    signature_work = signature_work or SignatureWork(authority)
    ledger = await asyncio.to_thread(Ledger.open, persistence)
    committer = GroupCommit(ledger)
    committer.start()
    directory = Directory(ledger)
    # The idempotency index learns what was accepted before this start; from then on each commit feeds it.
    accepted = AcceptedMessages(ledger)
    await asyncio.to_thread(accepted.catch_up)
    # The lists' projectors share the queue's connection: they take turns at writing through one lock anyway.
    view_writes = view_writes or asyncio.Lock()

    def follower(handler: Handler) -> Projector:
        return Projector(ledger, queue_views or views, handler, writes=view_writes)

    queue = follower(QueueProjection())
    listings = plugin_aggregates_projections(registry)
    message_listings = plugin_messages_projections(registry)
    list_handlers: list[Handler] = [
        ParticipantsProjection(),
        FlowHistoryProjection(),
        AcknowledgementsProjection(),
        *listings,
        *message_listings,
    ]
    lists = {handler.name: follower(handler) for handler in list_handlers}
    merkle_log = follower(MerkleLogProjection())
    followers = [queue, *lists.values(), merkle_log]
    # Their tables are made here, before any use case waits on them.
    await Projector.prepare_together(followers)

    def recorded() -> None:
        for follower in followers:
            follower.poke()

    gate = DeliveryGate(ledger, committer, views, queue, registry, clock, recorded)
    admin = Administration(
        ledger, committer, tokens, clock, registry, ParticipantList(views, lists["participants"]), limits, directory
    )
    plugin_aggregates = PluginAggregates(views, {h.topic: lists[h.name] for h in listings})
    plugin_messages = PluginMessages(views, {h.function_id: lists[h.name] for h in message_listings})
    expiry_watch = ExpiryWatch(ledger, committer, clock, timedelta(days=certificate_warning_days))
    certificates = Certificates(
        ledger,
        committer,
        authority,
        clock,
        certificate_lifetime_days,
        expiry_warning_days=certificate_warning_days,
        directory=directory,
    )
    verifiable_log = VerifiableLog(views, merkle_log, authority, clock, directory, tree_head_interval)
    delivery_path = delivery_path or {queue.name: queue.topics}
    lag = DeliveryLag([log_stage(ledger, views, delivery_path), *delivery_stages], refresh=delivery_lag_refresh)
    pace = LagAdmission(lag, delivery_lag_limit, delivery_lag_wait)
    return Services(
        clock=clock,
        registry=registry,
        ledger=ledger,
        committer=committer,
        directory=directory,
        authority=authority,
        tokens=tokens,
        views=views,
        limits=limits,
        queue=queue,
        submissions=Submissions(
            ledger,
            committer,
            registry,
            directory,
            authority,
            clock,
            recorded,
            limits,
            daily_quota,
            accepted,
            signature_work,
            pace,
        ),
        mailbox=Mailbox(
            ledger,
            committer,
            views,
            queue,
            clock,
            gate.settle,
            registry,
            ParticipantSignatures(directory, authority, signature_work),
        ),
        admin=admin,
        certificates=certificates,
        standing=StandingDataAdmin(ledger, committer, directory),
        plugin_services=CorePluginServices(
            ledger, committer, directory, authority, clock, recorded, plugin_aggregates, plugin_messages
        ),
        flow=FlowControls(gate, registry, directory, admin, FlowHistory(views, lists["flow_history"]), limits, clock),
        gate=gate,
        expiry_watch=expiry_watch,
        housekeeper=Housekeeper(
            views,
            ledger,
            committer,
            registry,
            clock,
            gate.settle,
            housekeeping_interval,
            expiry_watch,
            revocation_list=certificates.revocation_list,
        ),
        admission=Admission(tokens, clock, directory, limits, rate_limit),
        read_side=ReadSide(views, ledger, directory, Acknowledgements(views, lists["acknowledgements"])),
        lists=lists,
        merkle_log=merkle_log,
        verifiable_log=verifiable_log,
        evidence=EvidenceBundles(ledger, verifiable_log, authority),
        sign_outs=SignOuts(tokens, limits, clock),
        followers=followers,
        metrics=MetricsSampler(ledger, views, followers, clock, delivery_lag=lag),
        signature_work=signature_work,
        pace=pace,
    )


@dataclass(kw_only=True)
class Exchange(Services):
    """Everything one `idx serve` process runs: the use cases, NATS, and the followers of the log. Built by
    `start_exchange`, torn down by `stop`."""

    settings: Settings
    nc: NatsClient
    js: JetStreamContext
    projectors: dict[str, Projector]
    follower: LogFollower
    deliverer: Deliverer
    health: Health
    event_feed: EventFeed
    nats_server: EmbeddedNatsServer | None = None
    stream_watchdog: StuckStreamWatchdog | None = None
    # Takes in what other processes of the exchange changed (sign-outs, revocations, suspensions).
    cross_process: CrossProcessRefresh | None = None
    # Wakes the followers of the other processes of the exchange on each commit of this one, and the reverse.
    commit_signal: CommitSignal | None = None
    # The keys in the database when there is one (`--database-url`); None on SQLite, where they are files.
    shared_keys: SharedKeys | None = None
    # Which followers this process runs: each under a lease, so that several processes can share one database.
    leases: LeaseKeeper | None = None
    recounts: Recounts | None = None
    # Gives the memory threads freed back to the system (see exchange.kernel.memory); None where malloc cannot.
    memory_release: Repeating | None = None
    # On PostgreSQL: ends the sessions of a paused or cut-off process that hold locks inside a transaction.
    stalled_transactions: StalledTransactions | None = None
    _connections: list[ViewsConnection | PostgresCounters] = field(default_factory=list)
    # Held open while the exchange runs: the data directory's lock (see claim_data_dir).
    _data_dir_lock: IO[bytes] | None = None

    async def stop(self) -> None:
        if self.stream_watchdog is not None:
            await self.stream_watchdog.stop()
        await self.metrics.stop()
        if self.cross_process is not None:
            await self.cross_process.stop()
        if self.memory_release is not None:
            await self.memory_release.stop()
        if self.stalled_transactions is not None:
            await self.stalled_transactions.stop()
        await self.housekeeper.stop()
        await self.verifiable_log.stop()
        await self.deliverer.stop()
        if self.recounts is not None:
            await self.recounts.stop()
        await self.follower.stop()
        for projector in self.projectors.values():
            await projector.stop()
        if self.leases is not None:
            # Once nothing of this process writes any more: another process takes over without waiting.
            await self.leases.stop()
        await self.committer.stop()
        if self.commit_signal is not None:
            await self.commit_signal.stop()
        try:
            await self.nc.drain()
        except Exception:  # a drain that cannot finish must not keep the process from stopping
            await self.nc.close()
        for connection in self._connections:
            await connection.close()
        self.ledger.close()
        if self.signature_work is not None:
            await asyncio.to_thread(self.signature_work.close)
        if self.nats_server is not None:
            await asyncio.to_thread(self.nats_server.stop)
        if self._data_dir_lock is not None:
            self._data_dir_lock.close()


async def start_exchange(
    settings: Settings, registry: Registry | None = None, *, data_dir_lock: IO[bytes] | None = None
) -> Exchange:
    """Build the real adapters (nats-server, SQLite files, JetStream), wire the use cases on them with
    `build_services`, and start the followers of the log, the deliverer and housekeeping.

    A worker of `idx serve --workers N` passes the data directory's lock its parent holds (see join_data_dir);
    any other start claims the directory itself."""
    limit_arenas()  # before the threads below start (see exchange.kernel.memory)
    data_dir = settings.data_dir
    data_dir_lock = data_dir_lock or claim_data_dir(data_dir)
    if settings.database_url is not None:
        name_sessions()
    # First, so that an unreachable database stops the start before anything else runs.
    shared_keys = await _shared_keys(settings)
    # Request work (checks, signatures, event-store reads) runs in threads; six would queue requests behind each other.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=16, thread_name_prefix="idx"))
    clock = Clock(data_dir / "clock.offset" if settings.test_clock else None)
    # Before anything starts that would have to be stopped again: a wrong passphrase ends the start here.
    authority, tokens = await _keys(settings, shared_keys, clock)
    if settings.database_url is not None:
        await asyncio.to_thread(create_postgres_tables, settings.database_url)
    signature_work = SignatureWork(authority, settings.signing_processes)
    await asyncio.to_thread(signature_work.warm_up)

    nats_server = None
    nats_url = settings.nats_url
    if nats_url is None:
        nats_server = EmbeddedNatsServer(data_dir / "nats")
        await asyncio.to_thread(nats_server.start)
        nats_url = nats_server.url
    nc = await connect_nats(nats_url, token=settings.nats_token)
    js = nc.jetstream(publish_async_max_pending=256)
    replicas = settings.stream_replicas or (
        1 if nats_server is not None else await default_replicas(js, [STREAM, EVENTS_STREAM])
    )
    await ensure_stream(js, replicas)
    await ensure_events_stream(js, replicas)

    # The read models: in the database when there is one, so that every process of the exchange reads the same.
    views_path = data_dir / "views.sqlite"
    views = await open_views_for(settings.database_url, views_path, shared=True)
    queue_views = await open_views_for(settings.database_url, views_path)
    limits_db = await _open_limits_db(settings)
    connections: list[ViewsConnection | PostgresCounters] = [views, queue_views, limits_db]
    limits = LimitStore(limits_db)
    await limits.create_tables()
    # Followers of the log take turns at writing the views file through one lock (see Projector).
    view_writes = asyncio.Lock()
    services = await build_services(
        persistence=persistence_for(settings.database_url, data_dir / "events.sqlite"),
        views=views,
        queue_views=queue_views,
        view_writes=view_writes,
        limits=limits,
        clock=clock,
        registry=registry or Registry.from_entry_points(settings.plugins),
        authority=authority,
        signature_work=signature_work,
        tokens=tokens,
        daily_quota=settings.daily_quota,
        certificate_lifetime_days=settings.certificate_lifetime_days,
        certificate_warning_days=settings.certificate_warning_days,
        housekeeping_interval=settings.housekeeping_interval,
        rate_limit=settings.rate_limit,
        tree_head_interval=settings.tree_head_interval,
        delivery_lag_limit=settings.delivery_lag_limit,
        delivery_lag_wait=settings.delivery_lag_wait,
        delivery_path={Relay.name: Relay.topics, Notifier.name: Notifier.topics},
        delivery_stages=[routes_stage(js)],
    )

    if settings.hub_key_type not in (None, services.authority.hub_key_type):
        # The key type is chosen at first start: receipts already given must keep verifying with the same key.
        log.warning("hub_key_type_kept", kept=services.authority.hub_key_type, asked=settings.hub_key_type)

    async def follower(make: Callable[[ViewsConnection], Handler]) -> Projector:
        # Each follower writes through a connection of its own: transactions do not nest on one connection. Its
        # handler is made with it, for a handler that reads what it committed itself.
        connection = await open_views_for(settings.database_url, views_path)
        connections.append(connection)
        return Projector(services.ledger, connection, make(connection), writes=view_writes)

    projectors = {
        "relay": await follower(lambda _: Relay(js)),
        "queue": services.queue,
        "translog": await follower(lambda _: TranslogProjection()),
        "archive": await follower(lambda _: ArchiveProjection()),
        **services.lists,
        "log": services.merkle_log,
        "notifications": await follower(lambda own: Notifier(js, services.queue, services.lists["participants"], own)),
    }
    services.followers[:] = projectors.values()
    # Each follower runs in one process at a time (see exchange.readmodels.leases); alone, this one takes them all.
    # In the views' database, beside the positions the fencing guards: shared by every process of the exchange.
    lease_db = await open_views_for(settings.database_url, views_path)
    connections.append(lease_db)
    leases = LeaseKeeper(Leases(lease_db, new_holder()), [*projectors, *LEASED_TASKS], writes=view_writes)
    for projector in projectors.values():
        projector.leased_by(leases)
    # The relay publishes again what came just before its position whenever it takes its lease: a route JetStream
    # acked but lost with a crashed nats-server comes back, and one that was not lost is dropped (Nats-Msg-Id,
    # delivery ids).
    projectors["relay"].replay = RELAY_REPLAY
    services.housekeeper.leased = lambda: leases.holds("housekeeping")
    services.verifiable_log.leased = lambda: leases.holds("tree_heads")
    services.verifiable_log.signing_views = await open_views_for(settings.database_url, views_path)
    connections.append(services.verifiable_log.signing_views)
    services.metrics.leases = lambda: {name: leases.holds(name) for name in leases.names}
    # The holder of the deliverer's lease decides what enters a queue; the others ask it to recount.
    recounts = Recounts(nc, services.gate.settle, lambda: leases.holds("deliverer"))
    services.gate.leased, services.gate.forward = (lambda: leases.holds("deliverer")), recounts.ask
    # One reader of the log for all of them, woken by each commit of the group commit.
    log_follower = LogFollower(services.ledger, projectors.values())
    services.committer.on_commit(log_follower.poke)
    leases.on_taken = log_follower.poke
    exchange = Exchange(
        **vars(services),
        settings=settings,
        nc=nc,
        js=js,
        projectors=projectors,
        follower=log_follower,
        deliverer=Deliverer(
            js, services.gate.arrive, leased=lambda: leases.holds("deliverer"), taken=services.gate.settle_all
        ),
        recounts=recounts,
        health=Health(
            services.ledger, lambda: nc.is_connected, list(projectors.values()), leases.held, services.pace.lag
        ),
        event_feed=EventFeed(js),
        nats_server=nats_server,
        shared_keys=shared_keys,
        leases=leases,
        _connections=connections,
        _data_dir_lock=data_dir_lock,
    )
    await recounts.start()
    await leases.start()
    await ensure_operator(exchange)
    for projector in projectors.values():
        await projector.prepare()
    exchange.commit_signal = CommitSignal(nc, log_follower.poke)
    services.committer.on_commit(exchange.commit_signal.committed)
    await exchange.commit_signal.start()
    log_follower.start()
    await exchange.deliverer.start()
    exchange.verifiable_log.start()
    exchange.housekeeper.start()
    exchange.metrics.start()
    exchange.cross_process = CrossProcessRefresh(exchange.sign_outs, exchange.directory)
    exchange.cross_process.start()
    exchange.memory_release = periodic_release(log)
    if exchange.memory_release is not None:
        exchange.memory_release.start()
    if settings.database_url is not None:
        exchange.stalled_transactions = StalledTransactions(settings.database_url)
        exchange.stalled_transactions.start()
    if nats_server is not None:
        exchange.stream_watchdog = StuckStreamWatchdog(
            nats_server,
            exchange.health.failing,
            JETSTREAM_PUBLISHERS,
            cause=lambda name: projectors[name].last_failure if name in projectors else None,
        )
        exchange.stream_watchdog.start()
    log.info(
        "exchange_started", data_dir=str(data_dir), nats_url=without_credentials(nats_url), stream_replicas=replicas
    )
    return exchange


async def prepare_data_dir(settings: Settings) -> None:
    """The work that must happen once per data directory before processes share it, done by the parent of
    `idx serve --workers N` so that workers starting together never race to make a key or a table: the CA, hub
    and token keys, the event store's tables and the counters' tables."""
    shared_keys = await _shared_keys(settings)
    await _keys(settings, shared_keys, Clock())
    if settings.database_url is not None:
        await asyncio.to_thread(create_postgres_tables, settings.database_url)
    ledger = await asyncio.to_thread(
        Ledger.open, persistence_for(settings.database_url, settings.data_dir / "events.sqlite")
    )
    ledger.close()
    limits_db = await _open_limits_db(settings)
    try:
        await LimitStore(limits_db).create_tables()
    finally:
        await limits_db.close()


async def _shared_keys(settings: Settings) -> SharedKeys | None:
    """The keys kept in the database, for every process of the exchange to share; None without a database."""
    if settings.database_url is None:
        return None
    return await asyncio.to_thread(SharedKeys.open, settings.database_url, settings.key_passphrase)


async def _open_limits_db(settings: Settings) -> ViewsConnection | PostgresCounters:
    """Where rate limits, quotas and manual switches are counted: the database, or else a file of the data
    directory, so that every process of the exchange counts in the same place."""
    if settings.database_url is None:
        return await open_views(settings.data_dir / "limits.sqlite")
    return await PostgresCounters.open(settings.database_url)


async def _keys(
    settings: Settings, shared_keys: SharedKeys | None, clock: Clock
) -> tuple[CertificateAuthority, TokenIssuer]:
    """The CA and hub, and the token key: files in the data directory, or the database's when there is one."""
    hub_key_type = settings.hub_key_type or RSA_2048
    if shared_keys is None:
        authority = await asyncio.to_thread(
            CertificateAuthority.load_or_create, settings.data_dir / "pki", clock.now(), hub_key_type
        )
        return authority, TokenIssuer.load_or_create(settings.data_dir / "token.key")
    authority = await asyncio.to_thread(shared_keys.authority, clock.now(), hub_key_type)
    return authority, TokenIssuer(await asyncio.to_thread(shared_keys.token_key))


async def ensure_operator(exchange: Exchange) -> None:
    """First start creates the market operator and its client; the secret goes to operator.secret (0600).

    Every start grants the operator's client every entity, so a business function added to an existing data
    directory is open to the operator at once. With a database, the first secret is kept there too, and each
    process writes it to its own data directory; processes starting together may race to create the operator,
    and the one that loses finds it made.
    """
    ledger = exchange.ledger
    secret = exchange.settings.operator_secret or secrets.token_urlsafe(32)
    if exchange.shared_keys is not None:
        secret = await asyncio.to_thread(exchange.shared_keys.operator_secret, secret)
    secret_file = exchange.settings.data_dir / "operator.secret"
    with contextlib.suppress(ConflictError):
        if await asyncio.to_thread(ledger.find, Participant, Participant.create_id(OPERATOR)) is None:
            await exchange.admin.register_participant(OPERATOR, "Market operator", [OPERATOR])
    with contextlib.suppress(ConflictError):
        if await asyncio.to_thread(ledger.find, Client, Client.create_id(OPERATOR_CLIENT)) is None:
            await exchange.admin.add_client(
                OPERATOR, list(exchange.admin.entities), client_id=OPERATOR_CLIENT, secret=secret
            )
            write_private(secret_file, secret + "\n")
    if exchange.shared_keys is not None and not secret_file.exists():
        write_private(secret_file, secret + "\n")
    await exchange.admin.grant(OPERATOR_CLIENT, list(exchange.admin.entities))
