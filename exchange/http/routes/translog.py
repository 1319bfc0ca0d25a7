"""The transaction log API (`TRANSLOG_TRANSLOG`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Request, Router, get
from litestar.params import QueryParameter
from litestar.response import Stream

from exchange.http.auth import requires_token
from exchange.http.queries import FromDateTime, FunctionId, ItemCount, ResourceId, ToDateTime
from exchange.http.responses import page_meta, payload_route
from exchange.http.routes.messages import parse_timestamp
from exchange.kernel.clock import iso
from exchange.services.access import Principal
from exchange.services.read_side import ReadSide, TranslogSearch
from exchange.services.verifiable_log import VerifiableLog
from translog.reconcile import ReconcileQuery


def translog_router(read_side: ReadSide, verifiable_log: VerifiableLog) -> Router:
    @get("/translog", summary="Search the transaction log (JSON, or CSV with Accept: text/csv)")
    async def translog(
        request: Request[Any, Any, Any],
        principal: Principal,
        from_date_time: FromDateTime = None,
        to_date_time: ToDateTime = None,
        business_function_id: FunctionId = None,
        business_function_resource_id: ResourceId = None,
        message_context_id: Annotated[str | None, QueryParameter(name="messageContextId")] = None,
        initiating_participant_id: Annotated[str | None, QueryParameter(name="initiatingParticipantId")] = None,
        receiving_participant_id: Annotated[str | None, QueryParameter(name="receivingParticipantId")] = None,
        status: str | None = None,
        message_type: Annotated[str | None, QueryParameter(name="messageType")] = None,
        priority: Literal["High", "Medium", "Low"] | None = None,
        sort: str = "-createdDateTime",
        item_count: ItemCount = 100,
        cursor: str | None = None,
    ) -> Any:
        equals = {
            name: value
            for name, value in (
                ("businessFunctionId", business_function_id),
                ("businessFunctionResourceId", business_function_resource_id),
                ("messageContextId", message_context_id),
                ("initiatingParticipantId", initiating_participant_id),
                ("receivingParticipantId", receiving_participant_id),
                ("status", status),
                ("messageType", message_type),
            )
            if value is not None
        }
        asked = TranslogSearch(
            equals=equals,
            priority=priority,
            from_date_time=parse_timestamp(from_date_time, "fromDateTime"),
            to_date_time=parse_timestamp(to_date_time, "toDateTime"),
            sort=sort,
            item_count=item_count,
            cursor=cursor,
        )
        if "text/csv" in request.headers.get("accept", ""):
            lines = await read_side.translog_csv(principal.participant_id, asked)
            # In the headers: Litestar lets the route's JSON default win over a Stream's own media_type.
            return Stream(
                lines,
                headers={
                    "Content-Type": "text/csv; charset=utf-8",
                    "Content-Disposition": 'attachment; filename="translog.csv"',
                },
            )
        page = await read_side.translog(principal.participant_id, asked)
        return {
            "data": page.items,
            "meta": page_meta(page, item_count),
        }

    @get("/translog/{messageContextId:str}", summary="The rows of one message and their history")
    async def one(principal: Principal, messageContextId: str) -> dict[str, Any]:  # noqa: N803
        found = await read_side.transaction(principal.participant_id, messageContextId)
        # Where the receipt's acceptance sits in the Merkle log, once a signed tree head covers it (else null).
        return {"data": {**found, "leafIndex": await verifiable_log.leaf_index(messageContextId)}}

    payload = payload_route(
        "/translog/{messageContextId:str}/payload",
        "payload",
        read_side.transaction_payload,
        names_sender=False,
        summary="The payload, to its sender and receivers only",
    )

    @get(
        "/translog/{messageContextId:str}/acknowledgements",
        summary="Each recipient's deletion of your message, with its signature over messageContextId|payloadSha256",
    )
    async def acknowledgements(principal: Principal, messageContextId: str) -> dict[str, Any]:  # noqa: N803
        found = await read_side.acknowledgements(principal.participant_id, messageContextId)
        return {
            "data": [
                {"recipient": a.recipient, "deletedDateTime": iso(a.deleted_at), "signature": a.signature}
                for a in found
            ]
        }

    @get("/reconcile", summary="The ids you sent or received in a range, with the digest of all of them")
    async def reconcile(
        principal: Principal,
        direction: Literal["sent", "received"],
        from_date_time: FromDateTime = None,
        to_date_time: ToDateTime = None,
        item_count: Annotated[int, QueryParameter(name="itemCount", ge=1, le=5000)] = 1000,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        query = ReconcileQuery(
            principal.participant_id,
            direction,
            parse_timestamp(from_date_time, "fromDateTime"),
            parse_timestamp(to_date_time, "toDateTime"),
            item_count,
            cursor,
        )
        found = await read_side.reconcile(query)
        return {
            "data": {"count": found.count, "digest": found.digest, "messageContextIds": list(found.page.items)},
            "meta": {
                "itemCount": len(found.page.items),
                "nextCursor": found.page.next_cursor,
                "totalRecords": found.count,
                "totalPages": -(-found.count // item_count),
            },
        }

    return Router(
        path="/idx/v1",
        route_handlers=[translog, one, payload, acknowledgements, reconcile],
        tags=["transaction log"],
        opt=requires_token("TRANSLOG_TRANSLOG"),
    )
