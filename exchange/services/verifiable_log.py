"""The verifiable log: signed tree heads, inclusion proofs and consistency proofs.

The Merkle log projection appends leaves; this signs a tree head at most every `interval` seconds while leaves
arrive, so that one RSA signature covers every leaf added since the last head, whatever the message rate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from certs.authority import CertificateAuthority
from exchange.domain import merkle
from exchange.eventstore.directory import Directory
from exchange.kernel.clock import Clock, iso
from exchange.kernel.errors import FieldError, InvalidError, NotFoundError
from exchange.kernel.tasks import Repeating, RunsInRounds
from exchange.readmodels.merkle_log import (
    KINDS,
    TreeHead,
    find_leaf,
    from_blocks,
    latest_head,
    party_of,
    record_head,
    signed_text,
    tree_size,
)
from exchange.readmodels.projector import Projector
from exchange.readmodels.views import ViewsConnection
from exchange.services.admission import OPERATOR

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class InclusionProof:
    leaf_index: int
    leaf: bytes
    tree_size: int
    audit_path: list[bytes]


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    proof: list[bytes]


@dataclass(eq=False)
class VerifiableLog(RunsInRounds):
    """Signs tree heads of the Merkle log and answers proofs from its stored blocks."""

    views: ViewsConnection
    projector: Projector
    authority: CertificateAuthority
    clock: Clock
    directory: Directory
    interval: float
    # Whether this process holds the lease of the periodic signing: with several processes, one signs the heads.
    leased: Callable[[], bool] = field(default=lambda: True, kw_only=True)
    # Where heads are signed from and stored: in the exchange a connection of its own, not the request side's one.
    # There a read left part-way by a request pins what the connection sees, so a head missed the leaves committed
    # since, and storing it failed at once with "database is locked" (SQLite lets no stale snapshot write).
    signing_views: ViewsConnection | None = field(default=None, kw_only=True)
    _signing: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._rounds = Repeating("tree-heads", self._sign_round, self.interval, log=log, failure="tree_head_failed")

    async def sign_tree_head(self) -> TreeHead:
        """Catch the log up with the event store, then sign its head if it grew (the tests' and tools' way in)."""
        await self.projector.wait_for_latest()
        return await self._sign_new_leaves()

    async def tree_head(self) -> TreeHead:
        """The latest signed tree head."""
        head = await latest_head(self.views)
        if head is None:
            head = await self._sign_new_leaves()
        return head

    async def inclusion(
        self, participant_id: str, message_context_id: str, kind: str, recipient: str | None, size: int | None
    ) -> InclusionProof:
        """The audit path of one fact the caller may see, in a tree no larger than the latest signed head."""
        if kind not in KINDS:
            raise InvalidError(
                "unknown kind of leaf", errors=[FieldError("kind", f"must be one of {', '.join(KINDS)}")]
            )
        if kind == "accepted" and recipient is not None:
            raise InvalidError(
                "an accepted leaf names no recipient", errors=[FieldError("recipient", "leave it out for accepted")]
            )
        if kind != "accepted" and recipient is None:
            raise InvalidError(f"a {kind} leaf is one recipient's", errors=[FieldError("recipient", "is required")])
        signed = await self._provable()
        size = signed if size is None else size
        if not 1 <= size <= signed:
            raise InvalidError(
                "no signed tree head of that size",
                errors=[FieldError("treeSize", f"must be between 1 and the latest signed size, {signed}")],
            )
        found = await find_leaf(self.views, message_context_id, kind, recipient)
        unseen = NotFoundError(f"no {kind} leaf of yours for {message_context_id} in a signed tree head of {size}")
        if (
            found is None
            or found.index >= size
            or not await self._may_see(participant_id, message_context_id, recipient)
        ):
            raise unseen
        path = await from_blocks(self.views, lambda blocks: merkle.inclusion_path(found.index, size, blocks))
        return InclusionProof(found.index, found.leaf, size, path)

    async def consistency(self, first: int, second: int) -> ConsistencyProof:
        """The proof that the tree of `second` leaves extends the tree of `first`, both at most the latest head."""
        signed = await self._provable()
        errors = []
        if not 1 <= first <= signed:
            errors.append(FieldError("first", f"must be between 1 and the latest signed size, {signed}"))
        if not 1 <= second <= signed:
            errors.append(FieldError("second", f"must be between 1 and the latest signed size, {signed}"))
        if not errors and first > second:
            errors.append(FieldError("first", "must not be larger than second"))
        if errors:
            raise InvalidError("no consistency proof between those tree sizes", errors=errors)
        proof = await from_blocks(self.views, lambda blocks: merkle.consistency_proof(first, second, blocks))
        return ConsistencyProof(first, second, proof)

    async def _provable(self) -> int:
        """The largest tree size a proof may be asked of: the latest signed head's, or the log's if it holds fewer
        leaves (only when it was cut down behind the hub's back: the proofs then no longer match the head)."""
        return min((await self.tree_head()).tree_size, await tree_size(self.views))

    async def leaf_index(self, message_context_id: str) -> int | None:
        """Where a message's `accepted` leaf is, once a signed tree head covers it."""
        head = await latest_head(self.views)
        found = await find_leaf(self.views, message_context_id, "accepted", None)
        if head is None or found is None or found.index >= head.tree_size:
            return None
        return found.index

    async def _may_see(self, participant_id: str, message_context_id: str, recipient: str | None) -> bool:
        """The operator sees every leaf; the sender those of its message; a recipient its own and the acceptance."""
        roles = await asyncio.to_thread(self.directory.roles_of, participant_id) or frozenset()
        if OPERATOR in roles:
            return True
        party = await party_of(self.views, message_context_id, participant_id)
        return party == "sender" or (party == "recipient" and recipient in (None, participant_id))

    async def _sign_round(self) -> None:
        if self.leased():
            await self._sign_new_leaves()

    async def _sign_new_leaves(self) -> TreeHead:
        db = self.signing_views or self.views
        async with self._signing:
            head = await latest_head(db)
            size = await tree_size(db)
            if head is not None and size <= head.tree_size:
                return head
            root = await from_blocks(db, lambda blocks: merkle.root_hash(size, blocks))
            timestamp = iso(self.clock.now())
            signature = await asyncio.to_thread(self.authority.sign, signed_text(size, root, timestamp))
            await record_head(db, TreeHead(size, root, timestamp, signature))
            # Another process on this file may have signed the same size first: its head is the one kept.
            made = await latest_head(db)
            assert made is not None
            return made
