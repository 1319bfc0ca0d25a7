"""The delivery gate: flow control between routing and the recipients' queues.

Every decision starts from stored facts (the queue and pending views, and the FlowControl aggregate), runs the
pure state machine of `flowcontrol.state`, and records all its effects in one transaction: deliveries queued,
deliveries held, releases and status changes commit together or not at all. So a crash in the middle of a
release neither loses nor duplicates a message: the next decision starts again from what was committed.

Arrivals do not wait for the views to catch up with the log: the gate adds to what the views show the effects
it committed itself past the view's position (see `_Recorded`). Removals (deletes, expiry) are recorded by
others and followed by `settle`, which does wait for the views, so a count that missed one errs towards holding.

The gate's decisions for one queue are serialized by in-process locks, so with several processes on one database
they all run in the process that holds the deliverer's lease. A removal in another process (a delete by a
recipient connected there) asks the holder to recount through `forward`; the holder recounts every queue when it
takes the lease, which covers a request sent while no process held it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Recording

from exchange.domain.flow import FlowControl
from exchange.domain.messages import Delivery, Message, MessageFacts, PendingDelivery
from exchange.eventstore.ledger import GroupCommit, Ledger
from exchange.functions.registry import Registry
from exchange.kernel.clock import Clock
from exchange.kernel.formats import PRIORITY_RANK
from exchange.kernel.metrics import DELIVERY_LAG
from exchange.messaging.routing import Route
from exchange.readmodels.projector import Projector
from exchange.readmodels.views import ViewsConnection
from flowcontrol import state as flow
from flowcontrol.watermarks import Watermarks

log = structlog.get_logger(__name__)

Key = tuple[str, str]  # (participant, business function)


@dataclass(frozen=True)
class _Recorded:
    """An effect the gate committed, at its position in the log: the queue view shows it once it passes there."""

    position: int
    queued: bool = False  # a delivery entered the queue
    held: flow.PendingItem | None = None  # a message began to wait
    released: str | None = None  # the message context id of a held message that stopped waiting


@dataclass(eq=False)
class DeliveryGate:
    """Decides, per recipient and business function, whether a message enters the queue now or waits."""

    ledger: Ledger
    committer: GroupCommit
    views: ViewsConnection
    queue: Projector
    registry: Registry
    clock: Clock
    on_recorded: Callable[[], None]
    # Whether this process holds the deliverer's lease (and so makes the decisions), and how the others hand it
    # their recounts (None: there are no other processes).
    leased: Callable[[], bool] = field(default=lambda: True, kw_only=True)
    forward: Callable[[str, str], Awaitable[None]] | None = field(default=None, kw_only=True)
    _locks: defaultdict[Key, asyncio.Lock] = field(
        init=False, repr=False, default_factory=lambda: defaultdict(asyncio.Lock)
    )
    _arrivals: asyncio.Lock = field(init=False, repr=False, default_factory=asyncio.Lock)
    _settling: dict[Key, asyncio.Task[None]] = field(init=False, repr=False, default_factory=dict)
    # Per queue, what this gate committed that the queue view may not show yet (pruned as the view passes it).
    _unseen: defaultdict[Key, list[_Recorded]] = field(
        init=False, repr=False, default_factory=lambda: defaultdict(list)
    )

    def default_watermarks(self, business_function_id: str) -> Watermarks:
        defaults = self.registry.function(business_function_id).watermark_defaults
        return Watermarks(defaults.low, defaults.warn, defaults.high)

    async def arrive(self, routes: Sequence[Route]) -> None:
        """Routes from JetStream: each is queued or held exactly once, however often it is delivered to us."""
        # A route can arrive twice in one batch (a relay replay): one copy per (message, recipient) is decided.
        unique = list({(r.message_context_id, r.recipient): r for r in routes}.values())
        # Batches are decided in the order they arrive: the deliverer hands over the next batch while one is being
        # decided, and were the later one's check to finish first, it would take a queue's lock first and queue
        # its messages ahead of earlier ones. So each batch takes its queues' locks before the next may start.
        async with self._arrivals:
            fresh = await asyncio.to_thread(lambda: self._not_yet_handled(self._as_recorded(unique)))
            by_key: dict[Key, list[Route]] = defaultdict(list)
            for route in fresh:
                by_key[(route.recipient, route.business_function_id)].append(route)
            held = [self._locks[key] for key in sorted(by_key)]
            for lock in held:
                await lock.acquire()
        try:
            # The queues are decided side by side, so the deliveries of a whole batch share one group commit. Each
            # decision ends before the locks go: a failed one must not release a queue another is still deciding.
            outcomes = await asyncio.gather(
                *(self._decide(key, arrivals) for key, arrivals in by_key.items()), return_exceptions=True
            )
        finally:
            for lock in held:
                lock.release()
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _decide(self, key: Key, arrivals: list[Route]) -> None:
        """Queue or hold the arrivals of one queue; the caller holds that queue's lock."""
        state, control = await self._load(key)
        effects: flow.Effects = ()
        for route in arrivals:
            item = flow.PendingItem(route.message_context_id, PRIORITY_RANK[route.priority], route.position)
            state, more = flow.arrive(state, item)
            effects += more
        await self._record(key, control, state, effects, {r.message_context_id: r for r in arrivals})

    async def settle(self, participant_id: str, business_function_id: str) -> None:
        """Messages left the queue (deleted, expired): recount, and release held messages if the gate opens.

        Call after the removal is committed. Concurrent callers share one recount: an LNSP deleting over
        many connections would otherwise queue one full recount per message behind the lock of its queue.
        """
        if self.forward is not None and not self.leased():
            await self.forward(participant_id, business_function_id)
            return
        key = (participant_id, business_function_id)
        recount = self._settling.get(key)
        if recount is None:
            recount = asyncio.create_task(self._recount(key), name=f"settle-{participant_id}-{business_function_id}")
            self._settling[key] = recount
        # Shielded: a caller that goes away must not cancel the recount others wait for.
        await asyncio.shield(recount)

    async def settle_all(self) -> None:
        """Recount every queue that holds or waits for messages (on taking the deliverer's lease): a recount asked
        for while no process held it was not made."""
        await self.queue.wait_for(await asyncio.to_thread(self.ledger.last_position))
        async with self.views.execute(
            "SELECT recipient, business_function_id FROM queue_items "
            "UNION SELECT recipient, business_function_id FROM pending_items"
        ) as cursor:
            keys = [(row[0], row[1]) for row in await cursor.fetchall()]
        for participant_id, business_function_id in keys:
            await self.settle(participant_id, business_function_id)

    async def _recount(self, key: Key) -> None:
        try:
            async with self._locks[key]:
                # Callers from now on may have removed messages after this recount reads: they need another.
                self._forget_recount(key)
                state, control = await self._load(key, caught_up=True)
                state, effects = flow.remove(state, 0)
                await self._record(key, control, state, effects, {})
        finally:
            self._forget_recount(key)

    def _forget_recount(self, key: Key) -> None:
        if self._settling.get(key) is asyncio.current_task():
            del self._settling[key]

    async def switch(self, participant_id: str, business_function_id: str, stopped: bool) -> flow.FlowState:
        key = (participant_id, business_function_id)
        async with self._locks[key]:
            state, control = await self._load(key, caught_up=True)
            state, effects = flow.set_manual_stop(state, stopped)
            await self._record(key, control, state, effects, {})
        await self._recount_at_holder(key)
        return state

    async def set_watermarks(self, participant_id: str, business_function_id: str, watermarks: Watermarks) -> None:
        key = (participant_id, business_function_id)
        async with self._locks[key]:
            state, control = await self._load(key, caught_up=True)
            control = control or self._open(key, state.watermarks)
            control.set_watermarks(watermarks.low, watermarks.warn, watermarks.high, at=self.clock.now())
            state, effects = flow.set_watermarks(state, watermarks)
            await self._record(key, control, state, effects, {})
        await self._recount_at_holder(key)

    async def _recount_at_holder(self, key: Key) -> None:
        """After a change decided here while another process holds the deliverer: an arrival it held meanwhile
        may now be due, and only its recount is serialized with its arrivals."""
        if self.forward is not None and not self.leased():
            await self.forward(*key)

    async def state(self, participant_id: str, business_function_id: str) -> tuple[flow.FlowState, FlowControl | None]:
        """The current state as stored, for the flow-control API."""
        return await self._load((participant_id, business_function_id), caught_up=True)

    async def queued_count(self, participant_id: str, business_function_id: str, resource_id: str) -> int:
        async with self.views.execute(
            "SELECT count(*) FROM queue_items WHERE recipient = ? AND business_function_id = ? AND resource_id = ?",
            (participant_id, business_function_id, resource_id),
        ) as cursor:
            return int((await cursor.fetchone() or [0])[0])

    async def pending_count(
        self, participant_id: str, business_function_id: str, resource_id: str | None = None
    ) -> int:
        sql = "SELECT count(*) FROM pending_items WHERE recipient = ? AND business_function_id = ?"
        params: list[Any] = [participant_id, business_function_id]
        if resource_id is not None:
            sql += " AND resource_id = ?"
            params.append(resource_id)
        async with self.views.execute(sql, params) as cursor:
            return int((await cursor.fetchone() or [0])[0])

    async def _load(self, key: Key, caught_up: bool = False) -> tuple[flow.FlowState, FlowControl | None]:
        """The state of a queue: the views plus what this gate committed past them.

        `caught_up` first waits for the views to include every event committed so far, removals by others
        included: for a recount after removals and for the API. Arrivals skip that wait, which took one step of
        the log's follower per decision.
        """
        participant, function = key
        if caught_up:
            await self.queue.wait_for(await asyncio.to_thread(self.ledger.last_position))
        control = await asyncio.to_thread(self.ledger.find, FlowControl, FlowControl.create_id(participant, function))
        if control is None:
            watermarks, status, manual_stop = self.default_watermarks(function), "Operational", False
        else:
            watermarks = Watermarks(control.low, control.warn, control.high)
            status, manual_stop = control.status, control.manual_stop
        # The count and the position the view has reached, read in one statement so that they agree.
        async with self.views.execute(
            "SELECT (SELECT count(*) FROM queue_items WHERE recipient = ? AND business_function_id = ?), "
            "(SELECT position FROM tracking WHERE name = ?)",
            (*key, self.queue.name),
        ) as cursor:
            row = await cursor.fetchone()
        count, seen = (int(row[0]), int(row[1] or 0)) if row else (0, 0)
        # A copy: `state` reads without the queue's lock, while a decision may note more effects meanwhile.
        unseen = [r for r in self._unseen[key] if r.position > seen]
        self._unseen[key] = list(unseen)
        count += sum(r.queued for r in unseen)
        released = [r.released for r in unseen if r.released is not None]
        # A release never takes more than High of them, so that is all the state machine needs to see (and as many
        # again as this gate released past the view, which the view still lists).
        async with self.views.execute(
            "SELECT message_context_id, priority_rank, position FROM pending_items "
            "WHERE recipient = ? AND business_function_id = ? ORDER BY priority_rank, position LIMIT ?",
            (*key, watermarks.high + 1 + len(released)),
        ) as cursor:
            listed = {r[0]: flow.PendingItem(r[0], r[1], r[2]) for r in await cursor.fetchall()}
        # This read may see a later position of the view than the count did: adding a hold or a release the view
        # already shows changes nothing, so applying everything past `seen` in log order is right either way.
        for recorded in unseen:
            if recorded.held is not None:
                listed.setdefault(recorded.held.key, recorded.held)
            if recorded.released is not None:
                listed.pop(recorded.released, None)
        pending = tuple(sorted(listed.values(), key=lambda item: item.order))
        state = flow.FlowState(count, pending, status, manual_stop, watermarks)  # type: ignore[arg-type]
        return state, control

    def _open(self, key: Key, watermarks: Watermarks) -> FlowControl:
        return FlowControl(key[0], key[1], watermarks.low, watermarks.warn, watermarks.high)

    async def _record(
        self,
        key: Key,
        control: FlowControl | None,
        state: flow.FlowState,
        effects: flow.Effects,
        arrivals: dict[str, Route],
    ) -> None:
        now = self.clock.now()
        recipient = key[0]
        changed: list[Aggregate] = []
        for effect in effects:
            if isinstance(effect, flow.Queue):
                route = arrivals.get(effect.key)
                if route is not None:
                    changed.append(_queued_from_route(route, now))
                else:
                    changed.extend(await self._release(effect.key, recipient, now))
            elif isinstance(effect, flow.Hold):
                changed.append(_held_from_route(arrivals[effect.key], now))
            elif isinstance(effect, flow.StatusChanged):
                control = control or self._open(key, state.watermarks)
                control.change_status(effect.new, effect.count, at=now)
            elif isinstance(effect, flow.ManualStopChanged):
                control = control or self._open(key, state.watermarks)
                control.switch_delivery(effect.stopped, effect.count, at=now)
        if control is not None and control.pending_events:
            changed.append(control)
        if changed:
            recordings = await self.committer.save(*changed)
            self._remember(key, changed, recordings)
            self.on_recorded()
            for queued in changed:
                if isinstance(queued, Delivery):
                    DELIVERY_LAG.observe((queued.queued_at - queued.submitted_at).total_seconds())

    def _remember(self, key: Key, changed: list[Aggregate], recordings: Sequence[Recording[UUID]]) -> None:
        """Note the queue effects just committed, until the queue view shows them."""
        positions = {r.domain_event.originator_id: r.notification.id for r in recordings}
        unseen = self._unseen[key]
        for aggregate in changed:
            if isinstance(aggregate, Delivery):
                unseen.append(_Recorded(positions[aggregate.id], queued=True))
            elif isinstance(aggregate, PendingDelivery) and aggregate.released_at is not None:
                unseen.append(_Recorded(positions[aggregate.id], released=aggregate.message_context_id))
            elif isinstance(aggregate, PendingDelivery):
                item = flow.PendingItem(
                    aggregate.message_context_id, PRIORITY_RANK[aggregate.priority], aggregate.submission_position
                )
                unseen.append(_Recorded(positions[aggregate.id], held=item))
        unseen.sort(key=lambda r: r.position)

    async def _release(self, message_context_id: str, recipient: str, now: datetime) -> list[Aggregate]:
        pending = await asyncio.to_thread(
            self.ledger.find, PendingDelivery, PendingDelivery.create_id(message_context_id, recipient)
        )
        if pending is None or pending.released_at is not None:
            return []
        pending.release(released_at=now)
        facts = _facts(pending, submission_position=pending.submission_position)
        return [pending, Delivery(**facts, queued_at=now)]

    def _as_recorded(self, routes: Sequence[Route]) -> list[Route]:
        """The routes that agree with the message as recorded; the others are dropped and logged.

        NATS is a transport, not a source of truth: a route names a message and a recipient, and only a
        recipient the sender named at submission may ever get it, with the priority and function recorded then.
        """
        genuine = []
        for route in routes:
            message = self.ledger.find(Message, Message.create_id(route.message_context_id))
            if (
                message is not None
                and route.recipient in message.recipients
                and (route.business_function_id, route.resource_id, route.sender_id, route.priority)
                == (message.business_function_id, message.resource_id, message.sender_id, message.priority)
            ):
                genuine.append(route)
            else:
                log.warning(
                    "route_refused",
                    messageContextId=route.message_context_id,
                    recipient=route.recipient,
                    reason="no such message" if message is None else "not as recorded",
                )
        return genuine

    def _not_yet_handled(self, routes: Sequence[Route]) -> list[Route]:
        """Routes whose message is neither queued nor held for its recipient yet (a route can come twice)."""
        recorder = self.ledger.recorder
        fresh = []
        for route in routes:
            ids = (
                Delivery.create_id(route.message_context_id, route.recipient),
                PendingDelivery.create_id(route.message_context_id, route.recipient),
            )
            if not any(recorder.select_events(i, limit=1) for i in ids):
                fresh.append(route)
        return fresh


def _facts(source: Route | PendingDelivery, submission_position: int) -> dict[str, Any]:
    """What a delivery records of its message, whether it comes from a route or from a held delivery."""
    facts = {name: getattr(source, name) for name in MessageFacts.__dataclass_fields__}
    return {**facts, "submission_position": submission_position}


def _queued_from_route(route: Route, now: datetime) -> Delivery:
    return Delivery(**_facts(route, route.position), queued_at=now)


def _held_from_route(route: Route, now: datetime) -> PendingDelivery:
    return PendingDelivery(**_facts(route, route.position), held_at=now)
