"""Properties of the flow-control state machine over any history of arrivals, deletions, expiries and switches.

A model follows the effects: it keeps the keys in the queue, removed and arrived, the count after every step, and
judges the status against the definition stated over the whole history rather than step by step. Hypothesis
prints the failing history and a ``@reproduce_failure`` blob for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from flowcontrol import state as machine
from flowcontrol.watermarks import Status, Watermarks

watermarks = st.builds(
    lambda low, gap1, gap2: Watermarks(low=low, warn=low + gap1, high=low + gap1 + gap2),
    st.integers(0, 6),
    st.integers(1, 4),
    st.integers(1, 6),
)
Op = tuple[str, object]
ops: st.SearchStrategy[Op] = st.one_of(
    # Arrivals come in bursts so that histories reach High and hold messages as often as they drain.
    st.tuples(st.just("arrive"), st.lists(st.integers(0, 2), min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.integers(1, 4)),
    st.tuples(st.just("expire"), st.integers(1, 3)),
    st.tuples(st.just("manual"), st.booleans()),
    st.tuples(st.just("watermarks"), watermarks),
)


def defined_status(history: list[tuple[int, Watermarks]]) -> Status:
    """The watermark rule over the whole history: Stopped if the count reached High since it was last below Low."""
    count, current = history[-1]
    for past_count, past in reversed(history):
        if past_count < past.low:
            break
        if past_count >= past.high:
            return "Stopped"
    return "Warned" if count >= current.warn else "Operational"


@dataclass
class Model:
    """What an observer of the effects knows: keys by where they are, and the (count, watermarks) history."""

    wm: Watermarks
    arrived: set[str] = field(default_factory=set)
    queue: list[str] = field(default_factory=list)  # oldest first
    ever_queued: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    history: list[tuple[int, Watermarks]] = field(default_factory=list)
    excess_allowed: bool = False  # the count may exceed High only after an override lowered High below it

    def __post_init__(self) -> None:
        self.history.append((0, self.wm))


def check_effects(
    model: Model,
    before: machine.FlowState,
    after: machine.FlowState,
    effects: machine.Effects,
    op: Op,
    arriving: str | None,
) -> None:
    """Walk the effects in order, checking each against the model, then the invariants of the new state."""
    pending_before = {p.key: p for p in before.pending}
    released: list[machine.PendingItem] = []
    status = before.status
    expected_transitions: list[tuple[Status, Status, int]] = []
    got_transitions: list[tuple[Status, Status, int]] = []

    def observe(count: int) -> None:
        nonlocal status
        model.history.append((count, model.wm))
        new = defined_status(model.history)
        if new != status:
            expected_transitions.append((status, new, count))
            status = new

    if op[0] in ("delete", "expire", "watermarks"):
        observe(len(model.queue))
    for effect in effects:
        if isinstance(effect, machine.Queue):
            assert status != "Stopped" and not after.manual_stop, "queued while the gate was closed"
            assert effect.key in model.arrived and effect.key not in model.ever_queued, "queued twice or unknown"
            assert effect.key == arriving or effect.key in pending_before, "queued a message that was not waiting"
            if effect.key in pending_before:
                released.append(pending_before[effect.key])
            model.queue.append(effect.key)
            model.ever_queued.add(effect.key)
            observe(len(model.queue))
        elif isinstance(effect, machine.Hold):
            assert effect.key == arriving, "held something other than the arrival"
        elif isinstance(effect, machine.StatusChanged):
            assert effect.count == len(model.queue), "a transition reported with the wrong count"
            got_transitions.append((effect.old, effect.new, effect.count))
        elif isinstance(effect, machine.ManualStopChanged):
            assert op == ("manual", effect.stopped) and before.manual_stop != effect.stopped
    assert sum(isinstance(e, machine.Hold) for e in effects) <= 1

    # Every status change is reported once, with its count, and the state agrees with the definition.
    assert got_transitions == expected_transitions
    assert after.status == defined_status(model.history)

    # Nothing lost or duplicated.
    pending_keys = [p.key for p in after.pending]
    assert len(pending_keys) == len(set(pending_keys))
    queued, pending, removed = set(model.queue), set(pending_keys), model.removed
    assert not (queued & pending) and not (queued & removed) and not (pending & removed)
    assert queued | pending | removed == model.arrived
    assert after.count == len(model.queue)

    # Held messages leave in priority, then submission order, and none overtakes one still waiting.
    orders = [p.order for p in released]
    assert orders == sorted(orders)
    assert list(after.pending) == sorted(after.pending, key=lambda p: p.order)
    if released and after.pending:
        assert max(orders) < after.pending[0].order

    # Nothing enters the queue under a manual stop, and nothing waits while the gate is open.
    if after.manual_stop:
        assert not any(isinstance(e, machine.Queue) for e in effects)
    if after.pending:
        assert after.status == "Stopped" or after.manual_stop

    # The count reaches High at most, unless the operator lowered High below it.
    if after.count <= after.watermarks.high:
        model.excess_allowed = False
    assert after.count <= after.watermarks.high or model.excess_allowed


@settings(max_examples=400, deadline=None, database=None, print_blob=True)
@given(initial=watermarks, history=st.lists(ops, max_size=80))
def test_any_history_keeps_every_message_and_the_defined_status(initial: Watermarks, history: list[Op]) -> None:
    """Any history: queued + pending + removed = arrived, the status is the defined one, releases are in order."""
    model = Model(wm=initial)
    state = machine.FlowState.initial(initial)
    for op in history:
        kind, arg = op
        if kind == "arrive":
            assert isinstance(arg, list)
            for rank in arg:
                before, arriving = state, f"m{len(model.arrived)}"
                model.arrived.add(arriving)
                item = machine.PendingItem(key=arriving, priority_rank=rank, position=len(model.arrived))
                state, effects = machine.arrive(state, item)
                check_effects(model, before, state, effects, op, arriving)
            continue
        before = state
        if kind in ("delete", "expire"):
            assert isinstance(arg, int)
            n = min(arg, state.count)
            gone, model.queue = model.queue[:n], model.queue[n:]
            model.removed.update(gone)
            state, effects = machine.remove(state, n)
        elif kind == "manual":
            assert isinstance(arg, bool)
            state, effects = machine.set_manual_stop(state, arg)
        else:
            assert isinstance(arg, Watermarks)
            model.wm = arg
            model.excess_allowed = model.excess_allowed or state.count > arg.high
            state, effects = machine.set_watermarks(state, arg)
        check_effects(model, before, state, effects, op, None)


@settings(max_examples=200, deadline=None, database=None, print_blob=True)
@given(initial=watermarks.filter(lambda wm: wm.low > 0), ranks=st.lists(st.integers(0, 2), min_size=1, max_size=40))
def test_held_messages_are_all_released_in_priority_then_submission_order(
    initial: Watermarks, ranks: list[int]
) -> None:
    """Under a manual stop every arrival waits; draining the queue after the start releases all, in order."""
    state, _ = machine.set_manual_stop(machine.FlowState.initial(initial), stopped=True)
    for position, rank in enumerate(ranks):
        state, effects = machine.arrive(
            state, machine.PendingItem(key=f"m{position}", priority_rank=rank, position=position)
        )
        assert effects == (machine.Hold(f"m{position}"),)
    state, effects = machine.set_manual_stop(state, stopped=False)
    released = [e.key for e in effects if isinstance(e, machine.Queue)]
    for _ in ranks:  # each drain releases at least one while Low > 0; bounded so a bug cannot hang the suite
        if not state.pending:
            break
        state, effects = machine.remove(state, state.count)
        released += [e.key for e in effects if isinstance(e, machine.Queue)]
    expected = sorted(range(len(ranks)), key=lambda position: (ranks[position], position))
    assert released == [f"m{position}" for position in expected]
