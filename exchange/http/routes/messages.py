"""The four calls every message-exchanging business function gets: `/{bf}/v1/{resource}`."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
import structlog
from litestar import Request, Router, delete, get, post
from litestar.params import Parameter

from exchange.functions.protocol import BusinessFunction, Resource
from exchange.http.auth import requires_token
from exchange.http.body import read_json_body
from exchange.http.problems import problem_of
from exchange.http.queries import FromDateTime, ItemCount, ToDateTime
from exchange.http.responses import PageMeta, page_meta, payload_route
from exchange.kernel.errors import MalformedError, ServiceError
from exchange.readmodels.queue import QueueItem
from exchange.services.access import Principal
from exchange.services.mailbox import Fetched, Mailbox
from exchange.services.submit import Receipt, SubmissionRequest, Submissions


class ReceiptView(msgspec.Struct, rename="camel"):
    message_context_id: str
    received_date_time: str
    payload_sha256: str
    receipt: str


class QueuePage(msgspec.Struct):
    data: list[QueueItem]  # already in the API's shape: the queue view's rows
    meta: PageMeta


def parse_timestamp(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise MalformedError(f"{name} must be an ISO 8601 timestamp with an offset, e.g. 2026-07-01T10:00:00.000+10:00")
    return moment


def messages_router(
    function: BusinessFunction, resource: Resource, submissions: Submissions, mailbox: Mailbox
) -> Router:
    """Routes for one resource of one business function, with operation ids of their own in OpenAPI."""
    bf, res = function.id, resource.id
    entity = function.entity
    key = f"{bf}_{res}"

    @post(
        "/",
        status_code=200,
        operation_id=f"submit_{key}",
        summary=f"Submit a {resource.id} message",
        description="The body is the IDX envelope (JSON), gzip-encoded or not. 200 only once it is recorded.",
    )
    async def submit(
        request: Request[Any, Any, Any],
        principal: Principal,
        # Declared for the OpenAPI document; their absence or form is judged by the use case (400 / 422).
        # Litestar reads these annotations in module scope, so they cannot name the resource.
        initiating_participant_id: Annotated[
            str | None, Parameter(header="x-initiatingParticipantId", description="The sending participant")
        ] = None,
        message_context_id: Annotated[
            str | None,
            Parameter(header="x-messageContextId", description="bf~resource~h|m|l~PARTICIPANT~uniqueId"),
        ] = None,
        signature: Annotated[
            str | None,
            Parameter(
                header="x-signature",
                description="RSA-SHA256;<base64 DER CMS, detached>, or ECDSA-SHA256;<...> for an EC P-256 signer",
            ),
        ] = None,
        schema_version: Annotated[
            str | None,
            Parameter(header="x-schemaVersion", description="A schema version of the resource (default: latest)"),
        ] = None,
        content_encoding: Annotated[
            str | None, Parameter(header="Content-Encoding", description="gzip (recommended) or identity")
        ] = None,
    ) -> dict[str, ReceiptView]:
        if message_context_id:
            structlog.contextvars.bind_contextvars(messageContextId=message_context_id)
        submission = SubmissionRequest(
            business_function_id=bf,
            resource_id=res,
            initiating_participant_id=initiating_participant_id,
            message_context_id=message_context_id,
            signature=signature,
            schema_version=schema_version,
            body=b"",
        )
        try:
            # Until the body is decoded and checked, the refusal path sees an empty one and reads nothing from it.
            submission = replace(submission, body=await read_json_body(await request.body(), content_encoding))
            prepared = await asyncio.to_thread(submissions.prepare, principal, submission)
            receipt = prepared if isinstance(prepared, Receipt) else await submissions.record(prepared)
        except ServiceError as problem:
            await submissions.refuse(principal, submission, problem, problem_of(problem).status)
            raise
        finally:
            submissions.finished(submission)
        return {
            "data": ReceiptView(
                receipt.message_context_id,
                receipt.received_date_time,
                receipt.payload_sha256,
                receipt.receipt,
            )
        }

    @get("/", operation_id=f"list_{key}", summary=f"List {resource.id} messages waiting in your queue")
    async def list_messages(
        principal: Principal,
        priority: Literal["High", "Medium", "Low"] | None = None,
        from_date_time: FromDateTime = None,
        to_date_time: ToDateTime = None,
        item_count: ItemCount = 100,
        cursor: str | None = None,
    ) -> QueuePage:
        page = await mailbox.list(
            principal.participant_id,
            bf,
            res,
            priority=priority,
            from_date_time=parse_timestamp(from_date_time, "fromDateTime"),
            to_date_time=parse_timestamp(to_date_time, "toDateTime"),
            item_count=item_count,
            cursor=cursor,
        )
        return QueuePage(
            data=list(page.items),
            meta=page_meta(page, item_count),
        )

    async def fetched(participant_id: str, message_context_id: str) -> Fetched:
        return await mailbox.fetch(participant_id, bf, res, message_context_id)

    fetch = payload_route(
        "/{messageContextId:str}",
        "fetch",
        fetched,
        operation_id=f"get_{key}",
        summary="Fetch a message from your queue",
    )

    @delete(
        "/{messageContextId:str}",
        operation_id=f"delete_{key}",
        summary="Delete a message from your queue",
        description="x-signature, when given: your signature over messageContextId|payloadSha256 (proof of receipt).",
    )
    async def remove(
        principal: Principal,
        messageContextId: str,  # noqa: N803
        signature: Annotated[
            str | None,
            Parameter(
                header="x-signature", description="RSA-SHA256;<base64 DER CMS over messageContextId|payloadSha256>"
            ),
        ] = None,
    ) -> None:
        structlog.contextvars.bind_contextvars(messageContextId=messageContextId)
        await mailbox.delete(principal.participant_id, bf, res, messageContextId, signature)

    handlers = [list_messages, fetch, remove]
    if resource.accepts_submissions:
        handlers.append(submit)
    return Router(path=f"/{bf}/v1/{res}", route_handlers=handlers, tags=[function.name], opt=requires_token(entity))
