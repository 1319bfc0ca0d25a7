"""The IDX envelope every message-exchanging business function shares, and the checks of its header."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import chain
from typing import Any, Generic, TypeVar

import msgspec

from exchange.functions.errors import (
    FieldError,
    MalformedBodyError,
    RuleViolationError,
    field_error_from_msgspec,
    first_errors,
)
from exchange.functions.protocol import Resource, StandingData, Submission

MARKETS = frozenset(
    {
        "NEM", "AATELEC", "ACTELEC", "NSWELEC", "NTELEC", "QLDELEC", "SAELEC", "TASELEC", "VICELEC", "WAELEC",
        "AATGAS", "ACTGAS", "NSWGAS", "NTGAS", "QLDGAS", "SAGAS", "TASGAS", "VICGAS", "WAGAS", "NSWACTGAS",
    }
)  # fmt: skip

T = TypeVar("T")

# `"receivingParticipantId": ["*"]`: every participant holding a receiving role of the resource (a publication).
EVERY_RECEIVER = "*"


class Header(msgspec.Struct, rename="camel", forbid_unknown_fields=False):
    initiating_participant_id: str
    receiving_participant_id: list[str]
    message_id: str
    message_date_time: str
    business_function_id: str
    business_function_resource_id: str
    priority: str
    market: str = "NEM"


class Body(msgspec.Struct, Generic[T], rename="camel"):
    header: Header
    transactions: list[T]


class Envelope(msgspec.Struct, Generic[T]):
    data: Body[T]


def header_errors(
    header: Header, submission: Submission, resource: Resource, standing: StandingData
) -> list[FieldError]:
    """Every way the header disagrees with the request or with standing data, each named by its path."""
    errors: list[FieldError] = []

    def expect(name: str, found: str, wanted: str, source: str) -> None:
        if found != wanted:
            errors.append(
                FieldError(f"data.header.{name}", f"is {shown(found)!r} but the {source} says {shown(wanted)!r}")
            )

    expect("initiatingParticipantId", header.initiating_participant_id, submission.sender_id, "request")
    expect("businessFunctionId", header.business_function_id, submission.business_function_id, "path")
    expect("businessFunctionResourceId", header.business_function_resource_id, submission.resource_id, "path")
    expect("priority", header.priority, submission.priority, "x-messageContextId")
    if header.market not in MARKETS:
        errors.append(FieldError("data.header.market", f"{shown(header.market)!r} is not a market code"))
    if not header.message_id.strip() or len(header.message_id) > 100:
        errors.append(FieldError("data.header.messageId", "must be 1 to 100 characters"))
    if not is_timestamp(header.message_date_time):
        errors.append(FieldError("data.header.messageDateTime", "must be an ISO 8601 timestamp with an offset"))
    errors.extend(_recipient_errors(header.receiving_participant_id, resource, standing, submission.sender_id))
    return errors


def refuse_broken(
    header: Header,
    submission: Submission,
    resource: Resource,
    standing: StandingData,
    recipients: tuple[str, ...],
    *body_errors: Iterable[FieldError],
) -> None:
    """Raise RuleViolationError naming the first errors of the envelope, its header's then the function's own
    (`body_errors`, in order), with the recipients it asked for; return when it breaks no rule.

    Every envelope function refuses the same way: the header is checked alike for all, the errors are capped by
    `first_errors`, and the refusal names its recipients so that it is logged against each.
    """
    errors = first_errors(chain(header_errors(header, submission, resource, standing), *body_errors))
    if errors:
        raise RuleViolationError(errors, requested_recipients=recipients)


def recipients_of(header: Header, resource: Resource, standing: StandingData, sender: str) -> tuple[str, ...]:
    """Whom the message goes to: the recipients named, or for `["*"]` every participant that holds a receiving role
    of the resource now (not the sender), resolved once, when the message is accepted, and recorded with it."""
    named = header.receiving_participant_id
    if named == [EVERY_RECEIVER]:
        return tuple(sorted(standing.holders_of(resource.receiver_roles) - {sender}))
    return tuple(named)


def _recipient_errors(
    recipients: list[str], resource: Resource, standing: StandingData, sender: str
) -> list[FieldError]:
    if not recipients:
        return [FieldError("data.header.receivingParticipantId", "names no recipient")]
    if recipients == [EVERY_RECEIVER]:
        if standing.holders_of(resource.receiver_roles) - {sender}:
            return []
        wanted = " or ".join(sorted(resource.receiver_roles))
        return [FieldError("data.header.receivingParticipantId[0]", f"no participant holds the role {wanted}")]
    errors: list[FieldError] = []
    seen: set[str] = set()
    for index, recipient in enumerate(recipients):
        field = f"data.header.receivingParticipantId[{index}]"
        roles = standing.roles_of(recipient)
        if recipient == EVERY_RECEIVER:
            errors.append(FieldError(field, '"*" (every receiver) must be the only recipient named'))
        elif recipient in seen:
            errors.append(FieldError(field, f"{shown(recipient)} is named twice"))
        elif roles is None:
            errors.append(FieldError(field, f"{shown(recipient)} is not a participant"))
        elif not roles & resource.receiver_roles:
            wanted = " or ".join(sorted(resource.receiver_roles))
            errors.append(FieldError(field, f"{recipient} does not hold the role {wanted}"))
        seen.add(recipient)
    return errors


def shown(value: str, most: int = 40) -> str:
    """`value` as an error message may repeat it: cut short, since a body's strings are unbounded up to 10 MB and
    a refusal's reason is kept in the transaction log."""
    return value if len(value) <= most else value[:most] + "..."


def is_timestamp(value: str) -> bool:
    """An ISO 8601 date-time with its offset, as IDX envelopes write them."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    return parsed.tzinfo is not None


class _RecipientsHeader(msgspec.Struct, rename="camel"):
    receiving_participant_id: list[str] = []


class _RecipientsBody(msgspec.Struct):
    header: _RecipientsHeader = msgspec.field(default_factory=_RecipientsHeader)


class _RecipientsEnvelope(msgspec.Struct):
    data: _RecipientsBody = msgspec.field(default_factory=_RecipientsBody)


_RECIPIENTS = msgspec.json.Decoder(_RecipientsEnvelope)


def requested_recipients(body: bytes) -> tuple[str, ...]:
    """The recipients an envelope asks for, read leniently from a body that may break every other rule."""
    try:
        return tuple(_RECIPIENTS.decode(body).data.header.receiving_participant_id)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return ()


def decode_envelope(body: bytes, decoder: msgspec.json.Decoder[Envelope[T]]) -> Envelope[T]:
    """The envelope of a submitted body; MalformedBodyError if it is not UTF-8 JSON, RuleViolationError (naming
    the recipients it asked for) if it breaks the schema."""
    try:
        # msgspec checks UTF-8 only in the strings it keeps; JSON must be UTF-8 throughout.
        body.decode("utf-8")
        return decoder.decode(body)
    except msgspec.ValidationError as error:  # a subclass of DecodeError, so it comes first
        raise RuleViolationError(
            [field_error_from_msgspec(error)], requested_recipients=requested_recipients(body)
        ) from error
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        raise MalformedBodyError(f"the body is not UTF-8 JSON: {error}") from error


def sample_header(
    sender: str,
    recipients: Sequence[str],
    business_function_id: str,
    resource_id: str,
    *,
    message_id: str,
    sent: str,
    priority: str = "Medium",
    market: str = "NEM",
) -> dict[str, Any]:
    """The header of a sample envelope from `sender` to `recipients`, as JSON names it."""
    return {
        "initiatingParticipantId": sender,
        "receivingParticipantId": list(recipients),
        "messageId": message_id,
        "messageDateTime": sent,
        "businessFunctionId": business_function_id,
        "businessFunctionResourceId": resource_id,
        "priority": priority,
        "market": market,
    }
