"""The exchange's use cases built by `build_services` on the in-memory event store, with a clock tests set.

No process, no server, no file: the event store is eventsourcing's POPO store, the read models and the limits
are SQLite in memory, and delivery is driven by hand (`Market.deliver` does what the relay and the deliverer do).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
import pytest_asyncio
from cryptography import x509
from pytest_asyncio import is_async_test

from certs import authority as authorities
from certs.authority import EC_P256, CertificateAuthority
from certs.participant import build_csr, new_signing_key
from certs.signature import SigningKey, sign_detached
from exchange.bootstrap import Services, build_services
from exchange.domain.messages import Message
from exchange.domain.topics import topic_of
from exchange.eventstore.ledger import IN_MEMORY
from exchange.functions.bpqd.nmi import nmi_checksum
from exchange.functions.bpqd.sample import sample_envelope
from exchange.functions.registry import Registry
from exchange.kernel.clock import Clock
from exchange.messaging.routing import routes_of
from exchange.services import access
from exchange.services.access import Principal, TokenIssuer, entity_catalogue
from exchange.services.certificates import CertificateView
from exchange.services.submit import Receipt, SubmissionRequest, Submissions
from flowcontrol.limits import LimitStore
from tests.unit.services.inline_views import InlineViews

# Real time at the start of the session, to the millisecond: certificates the session CA issues are valid then.
START = datetime.now(UTC).replace(microsecond=0)
SUBMITTED = topic_of(Message, "Submitted")
LETTERS = {"High": "h", "Medium": "m", "Low": "l"}


# The use cases' tests share one event loop, and with it the loop's default executor. A loop per test would start
# worker threads anew for its `asyncio.to_thread` calls, and one more to shut them down: about four thread starts a
# test, the largest cost of these tests on a loaded machine. Each test still builds its services afresh.
SHARED_LOOP = pytest.mark.asyncio(loop_scope="session")
use_case_fixture = functools.partial(pytest_asyncio.fixture, loop_scope="session")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents and is_async_test(item):
            item.add_marker(SHARED_LOOP, append=False)


class SettableClock(Clock):
    """The exchange's clock, standing still at a moment the test sets or moves forward."""

    def __init__(self, moment: datetime = START) -> None:
        super().__init__()
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> datetime:
        self.moment += timedelta(seconds=seconds)
        return self.moment


def unit_authority(directory: Path) -> CertificateAuthority:
    """An exchange CA for these tests: an RSA 2048 CA key, not the exchange's 3072, and an EC P-256 hub key.

    No use case depends on the CA's key size, and a 3072-bit key takes about four times as long to make and three
    times as long to sign each participant's certificate with. No use case depends on the hub key's type either
    (`--hub-key-type ec-p256`), and each submission's receipt and re-signature then cost a tenth of what RSA's
    do. The end-to-end and interop tests run the exchange's CA key size and its default RSA hub."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(authorities, "CA_KEY_BITS", 2048)
        return CertificateAuthority.load_or_create(directory, START, hub_key_type=EC_P256)


@pytest.fixture(scope="session")
def authority(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    """The exchange CA, made once: RSA key generation is too slow to repeat per test."""
    return unit_authority(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def registry() -> Registry:
    return Registry.from_entry_points()


@functools.cache
def every_entity() -> frozenset[str]:
    """The installed plugins' entities, read once: finding entry points reads every installed package's metadata."""
    return frozenset(entity_catalogue(Registry.from_entry_points()))


# The exchange's scrypt cost for client secrets, before `cheap_secret_hashes` lowers it.
EXCHANGE_SCRYPT_COST = access.SCRYPT_COST


@pytest.fixture(autouse=True)
def cheap_secret_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Client secrets hashed at a low scrypt cost: rotation and lockout rules do not depend on it, and at the
    exchange's cost each check takes ~60 ms. A test of the cost itself asks for `exchange_secret_hashes`."""
    monkeypatch.setattr(access, "SCRYPT_COST", 2**8)


@pytest.fixture
def exchange_secret_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access, "SCRYPT_COST", EXCHANGE_SCRYPT_COST)


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


BuildServices = Callable[..., Awaitable[Services]]


@use_case_fixture
async def make_services(
    authority: CertificateAuthority, registry: Registry, clock: SettableClock
) -> AsyncIterator[BuildServices]:
    """Build the services on a fresh in-memory store; keyword arguments override those of `build_services`."""
    built: list[tuple[Services, list[InlineViews]]] = []

    async def make(**overrides: Any) -> Services:
        # One connection for the views, another for the limits: each is a database of its own, in memory.
        views, limits_db = InlineViews(), InlineViews()
        arguments: dict[str, Any] = {
            "persistence": IN_MEMORY,
            "views": views,
            "limits": LimitStore(limits_db),
            "clock": clock,
            "registry": registry,
            "authority": authority,
            "tokens": TokenIssuer(b"unit-test-token-key-of-32-bytes!"),
            **overrides,
        }
        services = await build_services(**arguments)
        built.append((services, [views, limits_db]))
        return services

    yield make
    for services, connections in built:
        await services.close()
        for connection in connections:
            await connection.close()


@use_case_fixture
async def services(make_services: BuildServices) -> Services:
    return await make_services()


@dataclass
class Member:
    """A registered participant and, once enrolled, the key and certificate it signs with."""

    participant_id: str
    key: SigningKey | None = None
    certificate: x509.Certificate | None = None

    @property
    def serial(self) -> str:
        assert self.certificate is not None
        return format(self.certificate.serial_number, "x")

    @property
    def principal(self) -> Principal:
        return Principal(
            f"{self.participant_id.lower()}-client",
            self.participant_id,
            every_entity(),
        )

    def sign(self, body: bytes) -> str:
        assert self.certificate is not None and self.key is not None
        return sign_detached(body, self.certificate, self.key)


class Market:
    """Participants, signed BPQD submissions and delivery, through the use cases as the HTTP layer calls them."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._numbers = itertools.count(1)
        self._delivered_up_to = 0

    async def participant(self, prefix: str, roles: list[str], *, enrol: bool = True) -> Member:
        """A new participant; enrolled, it has a certificate of its own nominated as its primary."""
        member = Member(f"{prefix}{next(self._numbers)}")
        await self.services.admin.register_participant(member.participant_id, f"{prefix} Pty Ltd", roles)
        if enrol:
            key, issued = await self.issue(member)
            await self.services.certificates.nominate(member.participant_id, issued.serial_number, None)
            member.key, member.certificate = key, certificate_of(issued)
        return member

    async def mc_and_lnsp(self) -> tuple[Member, Member]:
        """An enrolled MC that signs and sends, and an LNSP that only receives."""
        return await self.participant("MC", ["MC"]), await self.participant("LNSP", ["LNSP"], enrol=False)

    def submissions(self, **options: Any) -> Submissions:
        """Another submit use case on the market's event store and standing data, wired with `options`."""
        services = self.services
        return Submissions(
            services.ledger,
            services.committer,
            services.registry,
            services.directory,
            services.authority,
            services.clock,
            **options,
        )

    async def issue(self, member: Member, *, elliptic: bool = True) -> tuple[SigningKey, CertificateView]:
        """Another certificate for `member`, issued from a CSR of a new key and not nominated."""
        # EC keys by default: RSA key generation would dominate the run time of the suite.
        key = new_signing_key(elliptic=elliptic)
        csr = build_csr(key, f"{member.participant_id}-signing").decode()
        return key, await self.services.certificates.issue(member.participant_id, csr)

    def body(self, sender: Member, recipients: list[Member], **options: Any) -> bytes:
        """A valid BPQD envelope, different for each call unless `seed` is given.

        Half-hour intervals unless a test asks for others: the rules apply alike, and the sample's random readings
        cost a sixth of the default five-minute ones.
        """
        options.setdefault("seed", next(self._numbers))
        options.setdefault("interval_length", 30)
        envelope = sample_envelope(sender.participant_id, [r.participant_id for r in recipients], **options)
        return msgspec.json.encode(envelope)

    def body_for_nmi(self, sender: Member, recipients: list[Member], nmi: str, reading_date: str) -> bytes:
        envelope: Any = sample_envelope(
            sender.participant_id, [r.participant_id for r in recipients], reading_date=reading_date
        )
        detail = envelope["data"]["transactions"][0]["nmiDetails"][0]
        detail["nmi"], detail["nmiChecksum"] = nmi, nmi_checksum(nmi)
        return msgspec.json.encode(envelope)

    def request(
        self,
        sender: Member,
        body: bytes,
        *,
        signature: str | None = None,
        context_id: str | None = None,
        priority: str = "Medium",
    ) -> SubmissionRequest:
        """The request the HTTP layer would pass for `body`, signed by the sender unless `signature` is given."""
        unique = f"u{next(self._numbers)}"
        return SubmissionRequest(
            business_function_id="pqd",
            resource_id="bpqd",
            initiating_participant_id=sender.participant_id,
            message_context_id=context_id or f"pqd~bpqd~{LETTERS[priority]}~{sender.participant_id}~{unique}",
            signature=sender.sign(body) if signature is None else signature,
            schema_version=None,
            body=body,
        )

    async def submit(self, sender: Member, body: bytes, **request: Any) -> Receipt:
        """Submit as `POST /pqd/v1/bpqd` does: prepare (every check), then record unless it is a resubmission."""
        submissions = self.services.submissions
        prepared = await asyncio.to_thread(submissions.prepare, sender.principal, self.request(sender, body, **request))
        return prepared if isinstance(prepared, Receipt) else await submissions.record(prepared)

    async def send(self, sender: Member, recipient: Member, priority: str = "Medium") -> str:
        """Submit a fresh message to one recipient and deliver it; its messageContextId."""
        receipt = await self.submit(sender, self.body(sender, [recipient], priority=priority), priority=priority)
        await self.deliver()
        return receipt.message_context_id

    async def sent_after_signed_head(self) -> tuple[Member, str]:
        """An MC's message to an LNSP accepted after a tree head that covers only its first one: the sender and the
        later message's messageContextId."""
        sender = await self.participant("MC", ["MC"])
        recipient = await self.participant("LNSP", ["LNSP"])
        await self.send(sender, recipient)
        await self.services.verifiable_log.sign_tree_head()
        return sender, await self.send(sender, recipient)

    async def deliver(self) -> None:
        """Hand the delivery gate the routes of every message submitted since the last call, as the deliverer does."""
        ledger = self.services.ledger
        submitted = await asyncio.to_thread(ledger.notifications, self._delivered_up_to, 10_000, (SUBMITTED,))
        routes = [route for n in submitted for route in routes_of(n.id, ledger.decode(n))]
        if submitted:
            self._delivered_up_to = submitted[-1].id
        await self.services.gate.arrive(routes)

    async def caught_up(self) -> None:
        """Bring the queue view up to every event recorded so far (the queue projector follows no log here)."""
        await self.services.queue.wait_for(await asyncio.to_thread(self.services.ledger.last_position))

    async def queued(self, recipient: Member) -> list[str]:
        """The recipient's BPQD queue in list order (priority, then submission)."""
        await self.caught_up()
        page = await self.services.mailbox.list(recipient.participant_id, "pqd", "bpqd")
        return [item.message_context_id for item in page.items]

    async def pending(self, recipient: Member) -> int:
        """How many of the recipient's BPQD messages wait for the gate to open."""
        await self.caught_up()
        return await self.services.gate.pending_count(recipient.participant_id, "pqd")

    async def delete(self, recipient: Member, message_context_id: str) -> None:
        """Delete as a recipient does: after the queue showed the message (it learns of it from a list or a
        `messageAvailable`, both of which follow the queue view)."""
        await self.caught_up()
        await self.services.mailbox.delete(recipient.participant_id, "pqd", "bpqd", message_context_id)

    async def messages(self) -> int:
        """How many messages the event store holds."""
        return len(await asyncio.to_thread(self.services.ledger.notifications, 0, 10_000, (SUBMITTED,)))


def aggregates_read(market: Market, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every aggregate `Repository.get` reads from the event store from now on (until `monkeypatch.undo()`)."""
    repository = market.services.ledger.repository
    original = repository.get
    reads: list[Any] = []

    def get(*args: Any, **kwargs: Any) -> Any:
        reads.append(original(*args, **kwargs))
        return reads[-1]

    monkeypatch.setattr(repository, "get", get)
    return reads


def certificate_of(view: CertificateView) -> x509.Certificate:
    return x509.load_pem_x509_certificate(view.certificate.encode())


@pytest.fixture
def market(services: Services) -> Market:
    return Market(services)
