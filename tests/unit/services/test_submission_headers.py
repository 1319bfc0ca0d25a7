"""The headers of a submission are read before anything else: each fault gets its own error and sentence."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from exchange.functions.errors import FieldError
from exchange.functions.registry import UnknownFunctionError
from exchange.kernel.errors import InvalidError, MalformedError, NotFoundError, RefusedError, ServiceError
from exchange.kernel.formats import PARTICIPANT_ID
from exchange.services.submit import SubmissionRequest
from tests.unit.services.conftest import Market, Member

CONTEXT_FAULT = "x-messageContextId must match bf~resource~h|m|l~participant~uniqueId"
SENDER_FAULT = f"x-initiatingParticipantId is missing or not a participant id ({PARTICIPANT_ID.pattern})"


async def refused(market: Market, sender: Member, request: SubmissionRequest) -> ServiceError:
    with pytest.raises(ServiceError) as raised:
        await asyncio.to_thread(market.services.submissions.prepare, sender.principal, request)
    return raised.value


async def sender_and_request(market: Market) -> tuple[Member, SubmissionRequest]:
    mc = await market.participant("MC", ["MC"])
    lnsp = await market.participant("LNSP", ["LNSP"], enrol=False)
    return mc, market.request(mc, market.body(mc, [lnsp]))


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"initiating_participant_id": None}, SENDER_FAULT),
        ({"initiating_participant_id": "mc 1!"}, SENDER_FAULT),
        ({"message_context_id": None}, "x-messageContextId is missing"),
        ({"message_context_id": "not-a-context-id"}, CONTEXT_FAULT),
        ({"signature": ""}, "x-signature is missing"),
        ({"signature": None}, "x-signature is missing"),
    ],
    ids=[
        "sender-missing",
        "sender-malformed",
        "context-missing",
        "context-malformed",
        "signature-empty",
        "signature-missing",
    ],
)
async def test_a_missing_or_malformed_header_is_malformed_naming_the_header(
    market: Market, change: dict[str, str | None], detail: str
) -> None:
    """Each missing or unreadable header is a MalformedError (400) whose detail names that header."""
    mc, request = await sender_and_request(market)

    error = await refused(market, mc, replace(request, **change))  # type: ignore[arg-type]

    assert type(error) is MalformedError
    assert error.detail == detail
    assert await market.messages() == 0


async def test_an_unknown_resource_is_not_found_with_the_registrys_reason(market: Market) -> None:
    mc, request = await sender_and_request(market)
    with pytest.raises(UnknownFunctionError) as unknown:
        market.services.registry.resource("pqd", "nothing")

    error = await refused(market, mc, replace(request, resource_id="nothing"))

    assert type(error) is NotFoundError
    assert error.detail == str(unknown.value)


async def test_a_token_acting_for_another_participant_is_refused_naming_both(market: Market) -> None:
    mc, request = await sender_and_request(market)
    other = await market.participant("MC", ["MC"], enrol=False)

    error = await refused(market, other, request)

    assert type(error) is RefusedError
    assert error.detail == f"the token acts for {other.participant_id}, not for {mc.participant_id}"


async def test_a_sender_without_a_sending_role_is_refused_naming_the_roles_it_needs(market: Market) -> None:
    """BPQD is sent by a metering coordinator or provider; a network provider may only receive it."""
    lnsp = await market.participant("LNSP", ["LNSP"], enrol=False)
    mc = await market.participant("MC", ["MC"], enrol=False)
    body = market.body(lnsp, [mc])
    request = market.request(lnsp, body, signature="RSA-SHA256;unchecked")

    error = await refused(market, lnsp, request)

    assert type(error) is RefusedError
    assert error.detail == f"{lnsp.participant_id} may not send pqd/bpqd: needs MC or MDP"


async def test_headers_that_disagree_with_the_path_are_invalid_naming_every_disagreement(market: Market) -> None:
    """The messageContextId's parts and the schema version are checked together; every fault is listed."""
    mc, request = await sender_and_request(market)
    other = await market.participant("MDP", ["MDP"], enrol=False)
    context_id = f"abc~meter~m~{other.participant_id}~u1"

    error = await refused(market, mc, replace(request, message_context_id=context_id, schema_version="9.9"))

    assert type(error) is InvalidError
    assert error.detail == "the request headers disagree"
    assert error.errors == [
        FieldError("x-messageContextId", "'abc' disagrees with the business function of the path 'pqd'"),
        FieldError("x-messageContextId", "'meter' disagrees with the resource of the path 'bpqd'"),
        FieldError(
            "x-messageContextId",
            f"{other.participant_id!r} disagrees with x-initiatingParticipantId {mc.participant_id!r}",
        ),
        FieldError("x-schemaVersion", "'9.9' is not one of ['1.0']"),
    ]
