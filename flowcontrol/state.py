"""The flow-control state machine of one (participant, business function), as pure transitions.

Each transition takes a ``FlowState`` and returns the new state with the effects the caller must carry out, in
order: ``Queue`` (the message enters the queue now), ``Hold`` (it waits as ``delivery_pending``),
``StatusChanged`` and ``ManualStopChanged`` (events to record). Nothing here does I/O, so the caller can apply the
effects idempotently (a delivery id per message) and replay a transition after a crash.

Invariant kept by every transition: messages are pending only while the gate is closed (Stopped or manually
stopped), so an arrival never overtakes a held message.
"""

from __future__ import annotations

from bisect import insort
from dataclasses import dataclass, replace
from typing import TypeAlias

from flowcontrol.watermarks import Status, Watermarks, next_status


@dataclass(frozen=True)
class PendingItem:
    """A message waiting for delivery: ``priority_rank`` 0 High, 1 Medium, 2 Low; ``position`` = submission order."""

    key: str
    priority_rank: int
    position: int

    @property
    def order(self) -> tuple[int, int]:
        """Release order: priority first, then submission order."""
        return (self.priority_rank, self.position)


@dataclass(frozen=True)
class Queue:
    """The message enters the recipient's queue now (the count has already been raised by one)."""

    key: str


@dataclass(frozen=True)
class Hold:
    """The message waits as ``delivery_pending`` until the gate opens."""

    key: str


@dataclass(frozen=True)
class StatusChanged:
    """The watermark status changed from ``old`` to ``new`` when the count became ``count``."""

    old: Status
    new: Status
    count: int


@dataclass(frozen=True)
class ManualStopChanged:
    """The participant switched delivery off (``stopped``) or back on, with ``count`` messages in the queue."""

    stopped: bool
    count: int = 0


Effect: TypeAlias = Queue | Hold | StatusChanged | ManualStopChanged
Effects: TypeAlias = tuple[Effect, ...]


@dataclass(frozen=True)
class FlowState:
    """Messages in the queue (``count``), those waiting (``pending``, in release order), status and manual stop."""

    count: int
    pending: tuple[PendingItem, ...]
    status: Status
    manual_stop: bool
    watermarks: Watermarks

    @classmethod
    def initial(cls, watermarks: Watermarks) -> FlowState:
        """An empty, Operational queue without manual stop."""
        return cls(count=0, pending=(), status="Operational", manual_stop=False, watermarks=watermarks)

    @property
    def gate_open(self) -> bool:
        """Whether a message may enter the queue now."""
        return self.status != "Stopped" and not self.manual_stop


def arrive(state: FlowState, item: PendingItem) -> tuple[FlowState, Effects]:
    """An accepted message for this queue: queued if the gate is open, else held. Keys must be unique."""
    state, effects = release(state)
    if not state.gate_open:
        pending = list(state.pending)
        insort(pending, item, key=lambda p: p.order)
        return replace(state, pending=tuple(pending)), (*effects, Hold(item.key))
    state, queued = _enqueue(state, item)
    return state, effects + queued


def remove(state: FlowState, n: int = 1) -> tuple[FlowState, Effects]:
    """``n`` messages left the queue (deleted or expired); held messages enter if the gate opens."""
    if not 0 <= n <= state.count:
        raise ValueError(f"cannot remove {n} of {state.count} queued messages")
    state, effects = _recount(state, state.count - n)
    state, released = release(state)
    return state, effects + released


def set_manual_stop(state: FlowState, stopped: bool) -> tuple[FlowState, Effects]:
    """Switch delivery off or on; switching on releases held messages. Setting the current value changes nothing."""
    if stopped == state.manual_stop:
        return state, ()
    switched = ManualStopChanged(stopped, state.count)  # the count when it happened, before any release
    state = replace(state, manual_stop=stopped)
    state, released = release(state)
    return state, (switched, *released)


def set_watermarks(state: FlowState, watermarks: Watermarks) -> tuple[FlowState, Effects]:
    """New watermarks (operator override): the status is recomputed and held messages enter if the gate opens."""
    state, effects = _recount(replace(state, watermarks=watermarks), state.count)
    state, released = release(state)
    return state, effects + released


def release(state: FlowState) -> tuple[FlowState, Effects]:
    """Move held messages into the queue, in priority then submission order, while the gate stays open.

    Each one raises the count, so the release stops where the count reaches High; the rest stay pending.
    Transitions call this themselves; it is public to settle a state rebuilt from storage.
    """
    effects: list[Effect] = []
    released = 0
    # Slice once at the end: a long backlog would otherwise be copied once per released message.
    while released < len(state.pending) and state.gate_open:
        state, queued = _enqueue(state, state.pending[released])
        effects += queued
        released += 1
    return replace(state, pending=state.pending[released:]), tuple(effects)


def _enqueue(state: FlowState, item: PendingItem) -> tuple[FlowState, Effects]:
    state, effects = _recount(state, state.count + 1)
    return state, (Queue(item.key), *effects)


def _recount(state: FlowState, count: int) -> tuple[FlowState, Effects]:
    status = next_status(state.status, count, state.watermarks)
    new_state = replace(state, count=count, status=status)
    if status == state.status:
        return new_state, ()
    return new_state, (StatusChanged(old=state.status, new=status, count=count),)
