"""Submitting a message: every check of the API, then one event, then the signed receipt."""

from __future__ import annotations

import asyncio
import hashlib
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import structlog
from eventsourcing.domain import Aggregate

from certs.authority import CertificateAuthority
from certs.receipts import receipt_content
from exchange.domain.markettime import market_day
from exchange.domain.messages import HubStamp, Message, accepted_message
from exchange.domain.rejections import Rejection
from exchange.eventstore.accepted import AcceptedMessages
from exchange.eventstore.directory import Directory
from exchange.eventstore.ledger import GroupCommit, Ledger
from exchange.functions.envelope import requested_recipients
from exchange.functions.errors import FieldError, MalformedBodyError, RuleViolationError
from exchange.functions.protocol import Submission
from exchange.functions.registry import Registry, UnknownFunctionError
from exchange.kernel.clock import Clock, iso
from exchange.kernel.errors import (
    ConcurrencyError,
    ConflictError,
    DatabaseUnavailableError,
    InvalidError,
    LimitExceededError,
    MalformedError,
    NotFoundError,
    RefusedError,
    ServiceError,
    SignatureRefusedError,
    StorageFullError,
    SuspendedError,
    UnavailableError,
)
from exchange.kernel.formats import MESSAGE_CONTEXT_ID, PARTICIPANT_ID, PRIORITY_LETTERS
from exchange.kernel.metrics import SUBMISSION_SECONDS, SUBMISSIONS
from exchange.services.access import Principal
from exchange.services.delivery_lag import LagAdmission
from exchange.services.signature_work import SignatureWork
from exchange.services.signatures import ParticipantSignatures
from flowcontrol.limits import LimitStore

log = structlog.get_logger(__name__)

# The `outcome` label of a refused submission, by the kind of service error (the most specific kind first).
_REFUSAL_OUTCOMES: dict[type[ServiceError], str] = {
    MalformedError: "malformed",
    SignatureRefusedError: "signature_refused",
    SuspendedError: "suspended",
    RefusedError: "refused",
    NotFoundError: "not_found",
    ConflictError: "conflict",
    InvalidError: "invalid",
    LimitExceededError: "limit_exceeded",
    UnavailableError: "unavailable",
}

# What a refused submission's log rows keep of what was sent: a participant id is at most 10 characters, and a
# reason of ten field errors fits easily.
MAX_LOGGED_RECIPIENT = 40
MAX_LOGGED_REASON = 2000


@dataclass(frozen=True)
class SubmissionRequest:
    """What the edge read off the request; the body is already decompressed and capped."""

    business_function_id: str
    resource_id: str
    initiating_participant_id: str | None
    message_context_id: str | None
    signature: str | None
    schema_version: str | None
    body: bytes
    # When the edge began reading the request (time.perf_counter), for the submission-time histogram.
    started: float = field(default_factory=time.perf_counter)


@dataclass(frozen=True)
class Receipt:
    message_context_id: str
    received_date_time: str
    payload_sha256: str
    receipt: str


class Submissions:
    """The submit use case."""

    def __init__(
        self,
        ledger: Ledger,
        committer: GroupCommit,
        registry: Registry,
        directory: Directory,
        authority: CertificateAuthority,
        clock: Clock,
        on_recorded: Callable[[], None] = lambda: None,
        limits: LimitStore | None = None,
        daily_quota: tuple[int, int, int] | None = None,
        accepted: AcceptedMessages | None = None,
        work: SignatureWork | None = None,
        pace: LagAdmission | None = None,
    ) -> None:
        # Holds a submission back while delivery trails the log by more than its bound; None never does.
        self._pace = pace
        # Whether a messageContextId was accepted before is asked here, never of the event store's aggregates.
        self._accepted = accepted or AcceptedMessages(ledger)
        self._limits = limits
        # Messages per sender per market day, by priority (High, Medium, Low); None counts none.
        self._daily_quota = dict(zip(("High", "Medium", "Low"), daily_quota, strict=True)) if daily_quota else {}
        self._on_recorded = on_recorded
        self._ledger = ledger
        self._committer = committer
        self._registry = registry
        self._directory = directory
        # Checking the sender's signature and making the hub's two are pure CPU work: `work` says where it runs.
        self._work = work or SignatureWork(authority)
        self._signatures = ParticipantSignatures(directory, authority, self._work)
        self._clock = clock
        # The records a function's acceptance made (Acceptance.records), from `prepare` to `record`, by the
        # prepared message object (`id`): an entry goes when its message does, so a request given up between the
        # two (a client that went away) leaves nothing behind, and two requests with one messageContextId keep
        # their own.
        self._records: dict[int, tuple[Aggregate, ...]] = {}

    def prepare(self, principal: Principal, request: SubmissionRequest) -> Message | Receipt:
        """Check everything and build the event; a Receipt means an identical earlier submission. Thread-safe."""
        self._directory.refresh()  # revocations and nominations committed before this request apply to it
        submission = self._read_headers(principal, request)
        received_at = self._clock.now()
        # Even a resubmission must be signed by the sender: the original receipt goes only to a proven sender.
        signer_serial = self._verify_signature(principal.participant_id, request, received_at)
        payload_sha256 = hashlib.sha256(request.body).hexdigest()
        earlier = self._accepted.submitted(Message.create_id(submission.message_context_id))
        if earlier is not None:
            resubmitted = _resubmitted(earlier, payload_sha256)
            _count(request.business_function_id, "resubmitted")
            return resubmitted
        function, _ = self._registry.resource(submission.business_function_id, submission.resource_id)
        try:
            acceptance = function.accept(submission, self._directory)
        except MalformedBodyError as error:
            raise MalformedError(f"the body is not a JSON document: {error}") from error
        except RuleViolationError as error:
            raise InvalidError("the message breaks the rules of its business function", errors=error.errors) from error
        self._refuse_suspended(acceptance.recipients, request.body)
        receipt, hub_signature = self._work.sign_pair(
            receipt_content(submission.message_context_id, payload_sha256, iso(received_at)), request.body
        )
        message = accepted_message(
            submission,
            HubStamp(received_at, payload_sha256, receipt, hub_signature),
            message_id=acceptance.message_id,
            message_type=acceptance.message_type,
            schema_version=submission.schema_version,
            recipients=acceptance.recipients,
            payload=request.body,
            signature=request.signature or "",
            signer_serial=signer_serial,
        )
        if acceptance.records:
            self._records[id(message)] = acceptance.records
            weakref.finalize(message, self._records.pop, id(message), None)
        return message

    async def record(self, message: Message) -> Receipt:
        """Count it against the sender's daily quota and commit it; the receipt comes only after the commit."""
        records = self._records.pop(id(message), ())  # taken first: a refused quota must not leave them behind
        if self._pace is not None:
            # Here, after every check and before the quota and the group commit: waiting holds nothing.
            await self._pace.admit()
        day = market_day(message.received_at)
        await self._take_quota(message, day)
        try:
            recordings = await self._committer.save(message, *records)
        except ConcurrencyError:
            # The same messageContextId committed a moment ago by a concurrent request, of this process or another.
            await self._release_quota(message, day)
            earlier = await asyncio.to_thread(self._earlier, message)
            resubmitted = _resubmitted(earlier, message.payload_sha256)
            _count(message.business_function_id, "resubmitted")
            return resubmitted
        except BaseException:
            await self._release_quota(message, day)
            raise
        self._accepted.add(message.id, recordings[0].notification.id)
        self._on_recorded()
        log.info("message_accepted", recipients=message.recipients, size=len(message.payload))
        _count(message.business_function_id, "accepted")
        return _receipt_of(message)

    def finished(self, request: SubmissionRequest) -> None:
        """The answer is ready: observe how long the submission took, from the moment the edge began reading it."""
        SUBMISSION_SECONDS.labels(request.business_function_id).observe(time.perf_counter() - request.started)

    async def _take_quota(self, message: Message, day: date) -> None:
        if self._limits is None or not self._daily_quota:
            return
        retry_after = await self._limits.take_quota(
            message.sender_id, message.priority, day, self._daily_quota, now=message.received_at
        )
        if retry_after is not None:
            raise LimitExceededError(
                f"{message.sender_id} has sent its {self._daily_quota[message.priority]} {message.priority} "
                "priority messages for today",
                retry_after=retry_after,
            )

    async def _release_quota(self, message: Message, day: date) -> None:
        if self._limits is not None and self._daily_quota:
            await self._limits.release_quota(message.sender_id, message.priority, day)

    async def refuse(
        self, principal: Principal, request: SubmissionRequest, problem: ServiceError, status: int
    ) -> None:
        """Record a refused submission, with the status it was answered with, for the transaction log.

        A resubmission with another payload (a conflict) is not a new transaction, so it is not recorded.
        """
        _count(request.business_function_id, _refusal_outcome(problem))
        if isinstance(problem, (ConflictError, StorageFullError, DatabaseUnavailableError)):
            # A conflict is not a new transaction; with the disk full or the database out of reach the refusal
            # could not be stored either.
            return
        context_id = request.message_context_id
        rejection = Rejection(
            message_context_id=context_id[:120] if context_id else None,
            business_function_id=request.business_function_id,
            resource_id=request.resource_id,
            sender_id=principal.participant_id,
            priority=_priority_of(context_id),
            # Each recipient and the reason are cut short: the refused body's strings are unbounded up to its 10 MB,
            # and a rejection is kept (and shown in the log) once per requested receiver.
            recipients=[r[:MAX_LOGGED_RECIPIENT] for r in requested_recipients(request.body) if isinstance(r, str)][
                :100
            ],
            status=status,
            reason=(problem.detail + "".join(f"; {e.field}: {e.message}" for e in problem.errors[:10]))[
                :MAX_LOGGED_REASON
            ],
            size=len(request.body),
            rejected_at=self._clock.now(),
        )
        await self._committer.save(rejection)
        self._on_recorded()

    def _refuse_suspended(self, recipients: Iterable[str], body: bytes) -> None:
        """Nothing is sent to a suspended participant (what is already in its queue stays there)."""
        suspended = [r for r in recipients if (p := self._directory.participant(r)) is not None and p.suspended]
        if not suspended:
            return
        named = requested_recipients(body)
        errors = [
            FieldError(
                f"data.header.receivingParticipantId[{named.index(r)}]"
                if r in named
                else "data.header.receivingParticipantId",
                f"{r} is suspended",
            )
            for r in suspended
        ]
        raise InvalidError(f"a recipient is suspended: {', '.join(suspended)}", errors=errors)

    def _read_headers(self, principal: Principal, request: SubmissionRequest) -> Submission:
        try:
            _, resource = self._registry.resource(request.business_function_id, request.resource_id)
        except UnknownFunctionError as error:
            raise NotFoundError(str(error)) from error
        sender = request.initiating_participant_id
        if not sender or not PARTICIPANT_ID.match(sender):
            raise MalformedError(
                f"x-initiatingParticipantId is missing or not a participant id ({PARTICIPANT_ID.pattern})"
            )
        if request.message_context_id is None:
            raise MalformedError("x-messageContextId is missing")
        context = MESSAGE_CONTEXT_ID.match(request.message_context_id)
        if context is None:
            raise MalformedError("x-messageContextId must match bf~resource~h|m|l~participant~uniqueId")
        if not request.signature:
            raise MalformedError("x-signature is missing")
        if sender != principal.participant_id:
            raise RefusedError(f"the token acts for {principal.participant_id}, not for {sender}")
        roles = self._directory.roles_of(sender) or frozenset()
        if not roles & resource.sender_roles:
            wanted = " or ".join(sorted(resource.sender_roles))
            raise RefusedError(
                f"{sender} may not send {request.business_function_id}/{request.resource_id}: needs {wanted}"
            )
        errors = []
        for part, wanted, name in (
            ("bf", request.business_function_id, "the business function of the path"),
            ("resource", request.resource_id, "the resource of the path"),
            ("participant", sender, "x-initiatingParticipantId"),
        ):
            if context.group(part) != wanted:
                errors.append(
                    FieldError("x-messageContextId", f"{context.group(part)!r} disagrees with {name} {wanted!r}")
                )
        version = request.schema_version or resource.latest_schema_version
        if version not in resource.schema_versions:
            errors.append(FieldError("x-schemaVersion", f"{version!r} is not one of {list(resource.schema_versions)}"))
        if errors:
            raise InvalidError("the request headers disagree", errors=errors)
        return Submission(
            business_function_id=request.business_function_id,
            resource_id=request.resource_id,
            sender_id=sender,
            priority=PRIORITY_LETTERS[context.group("priority")],
            message_context_id=request.message_context_id,
            schema_version=version,
            body=request.body,
        )

    def _earlier(self, message: Message) -> Any:
        """The `Submitted` event of the message the event store already holds under `message`'s id."""
        earlier = self._accepted.submitted(message.id)
        if earlier is None:  # committed by another process: the index learns of it from the log
            self._accepted.catch_up()
            earlier = self._accepted.submitted(message.id)
        if earlier is None:
            raise ConcurrencyError(f"{message.message_context_id} was refused as a duplicate but is not in the log")
        return earlier

    def _verify_signature(self, sender: str, request: SubmissionRequest, now: datetime) -> str:
        """The serial of the sender's nominated, valid certificate that signed the exact body."""
        return self._signatures.verify(sender, request.signature or "", request.body, now)


def _count(business_function_id: str, outcome: str) -> None:
    SUBMISSIONS.labels(business_function_id, outcome).inc()


def _refusal_outcome(problem: ServiceError) -> str:
    kinds = type(problem).__mro__
    return next((_REFUSAL_OUTCOMES[kind] for kind in kinds if kind in _REFUSAL_OUTCOMES), "refused")


def _priority_of(context_id: str | None) -> str | None:
    match = MESSAGE_CONTEXT_ID.match(context_id or "")
    return PRIORITY_LETTERS[match.group("priority")] if match else None


def _receipt_of(message: Any) -> Receipt:
    """The receipt of a `Message` or of its stored `Submitted` event (the same fields)."""
    return Receipt(
        message_context_id=message.message_context_id,
        received_date_time=iso(message.received_at),
        payload_sha256=message.payload_sha256,
        receipt=message.receipt,
    )


def _resubmitted(earlier: Any, payload_sha256: str) -> Receipt:
    if earlier.payload_sha256 != payload_sha256:
        raise ConflictError(f"{earlier.message_context_id} was already submitted with a different payload")
    return _receipt_of(earlier)
