"""The verifiable log: signed tree heads and RFC 9162 proofs."""

from __future__ import annotations

import base64
import hashlib
from typing import Annotated, Any

from litestar import Response, Router, get
from litestar.params import Parameter, QueryParameter

from exchange.http.auth import requires_token
from exchange.services.access import Principal
from exchange.services.evidence import EvidenceBundles
from exchange.services.verifiable_log import VerifiableLog


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def verifiable_log_router(verifiable_log: VerifiableLog, evidence: EvidenceBundles) -> Router:
    @get("/log/sth", summary="The latest signed tree head of the Merkle log")
    async def sth() -> dict[str, Any]:
        head = await verifiable_log.tree_head()
        return {
            "data": {
                "treeSize": head.tree_size,
                "rootHash": _b64(head.root_hash),
                "timestamp": head.timestamp,
                "signature": head.signature,
            }
        }

    @get("/log/proof", summary="The audit path of one of the caller's facts (RFC 9162 §2.1.3)")
    async def proof(
        principal: Principal,
        message_context_id: Annotated[str, QueryParameter(name="messageContextId", min_length=1, max_length=200)],
        kind: Annotated[str, Parameter(max_length=20)],
        recipient: Annotated[str | None, Parameter(max_length=200)] = None,
        tree_size: Annotated[int | None, QueryParameter(name="treeSize")] = None,
    ) -> dict[str, Any]:
        found = await verifiable_log.inclusion(principal.participant_id, message_context_id, kind, recipient, tree_size)
        return {
            "data": {
                "leafIndex": found.leaf_index,
                "leaf": found.leaf.decode(),
                "treeSize": found.tree_size,
                "auditPath": [_b64(p) for p in found.audit_path],
            }
        }

    @get("/log/consistency", summary="The proof that a later tree extends an earlier one (RFC 9162 §2.1.4)")
    async def consistency(first: int, second: int) -> dict[str, Any]:
        found = await verifiable_log.consistency(first, second)
        return {"data": {"first": found.first, "second": found.second, "proof": [_b64(p) for p in found.proof]}}

    @get(
        "/evidence/{messageContextId:str}",
        summary="The zip of everything that proves one of your messages, for `idx verify evidence`",
        media_type="application/zip",
    )
    async def bundle(principal: Principal, messageContextId: str) -> Response[bytes]:  # noqa: N803
        content = await evidence.bundle(principal.participant_id, messageContextId)
        # The id may hold characters a file name should not: the download is named by its hash.
        name = f"evidence-{hashlib.sha256(messageContextId.encode()).hexdigest()[:16]}.zip"
        return Response(
            content,
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return Router(
        path="/idx/v1",
        route_handlers=[sth, proof, consistency, bundle],
        tags=["verifiable log"],
        opt=requires_token(),
    )
