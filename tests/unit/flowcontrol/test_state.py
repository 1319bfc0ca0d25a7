"""Examples of the flow-control state machine, starting with the industry test plan's scenario."""

from __future__ import annotations

import pytest

from flowcontrol.state import (
    Effects,
    FlowState,
    Hold,
    ManualStopChanged,
    PendingItem,
    Queue,
    StatusChanged,
    arrive,
    release,
    remove,
    set_manual_stop,
    set_watermarks,
)
from flowcontrol.watermarks import Status, Watermarks, next_status

SMALL = Watermarks(low=3, warn=5, high=8)


def item(n: int, rank: int = 1) -> PendingItem:
    return PendingItem(key=f"m{n}", priority_rank=rank, position=n)


def queued(effects: Effects) -> list[str]:
    return [e.key for e in effects if isinstance(e, Queue)]


def held(effects: Effects) -> list[str]:
    return [e.key for e in effects if isinstance(e, Hold)]


def transitions(effects: Effects) -> list[tuple[Status, Status, int]]:
    return [(e.old, e.new, e.count) for e in effects if isinstance(e, StatusChanged)]


def test_twelve_arrivals_leave_eight_queued_and_four_pending_then_deleting_to_two_releases_them_in_order() -> None:
    """the industry test plan Table 7: 3/5/8 watermarks; at every step queued + waiting + deleted = accepted."""
    state = FlowState.initial(SMALL)
    accepted = deleted = 0
    queue: list[str] = []
    ranks = [1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 0, 2]  # the held ones: Low, Medium, High, Low
    for n, rank in enumerate(ranks):
        state, effects = arrive(state, item(n, rank))
        accepted += 1
        queue += queued(effects)
        assert len(queue) + len(state.pending) + deleted == accepted
    assert (state.count, state.status, len(state.pending)) == (8, "Stopped", 4)
    assert len(queue) == 8

    released: list[str] = []
    for _ in range(6):  # 8 down to 2, the first count below Low
        assert released == []
        state, effects = remove(state)
        deleted += 1
        queue.pop(0)
        released += queued(effects)
        queue += queued(effects)
        assert len(queue) + len(state.pending) + deleted == accepted
        assert state.count == len(queue)
    assert released == ["m10", "m9", "m8", "m11"]
    assert state.pending == ()
    assert (state.count, state.status) == (6, "Warned")


def test_every_transition_is_reported_with_its_count() -> None:
    """Filling to High and draining below Low reports Warned, Stopped, Operational with the counts at the time."""
    state = FlowState.initial(SMALL)
    effects: Effects = ()
    for n in range(8):
        state, step = arrive(state, item(n))
        effects += step
    for _ in range(6):
        state, step = remove(state)
        effects += step
    assert transitions(effects) == [
        ("Operational", "Warned", 5),
        ("Warned", "Stopped", 8),
        ("Stopped", "Operational", 2),
    ]


def test_stopped_stays_stopped_below_warn_until_below_low() -> None:
    """Hysteresis: at count 4 (below warn 5, not below low 3) the status is still Stopped."""
    assert next_status("Stopped", 4, SMALL) == "Stopped"
    assert next_status("Stopped", 3, SMALL) == "Stopped"
    assert next_status("Stopped", 2, SMALL) == "Operational"
    assert next_status("Warned", 4, SMALL) == "Operational"
    assert next_status("Operational", 5, SMALL) == "Warned"
    assert next_status("Operational", 8, SMALL) == "Stopped"


def test_manual_stop_holds_messages_even_with_an_empty_queue() -> None:
    """A manual stop holds delivery whatever the count."""
    state, effects = set_manual_stop(FlowState.initial(SMALL), stopped=True)
    assert effects == (ManualStopChanged(stopped=True),)
    state, effects = arrive(state, item(1))
    assert effects == (Hold("m1"),)
    assert state.count == 0


def test_manual_start_releases_held_messages_in_priority_then_submission_order() -> None:
    """Start after a manual stop: High before Medium before Low, older first within a priority."""
    state, _ = set_manual_stop(FlowState.initial(SMALL), stopped=True)
    for n, rank in [(1, 2), (2, 1), (3, 0), (4, 1), (5, 0)]:
        state, _ = arrive(state, item(n, rank))
    state, effects = set_manual_stop(state, stopped=False)
    assert effects[0] == ManualStopChanged(stopped=False)
    assert queued(effects) == ["m3", "m5", "m2", "m4", "m1"]
    assert state.pending == ()


def test_switching_to_the_current_manual_setting_changes_nothing() -> None:
    """Stopping a stopped function reports no event."""
    state, _ = set_manual_stop(FlowState.initial(SMALL), stopped=True)
    assert set_manual_stop(state, stopped=True) == (state, ())


def test_release_stops_when_the_count_reaches_high_and_the_rest_stay_pending() -> None:
    """Twelve held messages on an empty queue: eight enter (Stopped again), four keep waiting in order."""
    state, _ = set_manual_stop(FlowState.initial(SMALL), stopped=True)
    for n in range(12):
        state, _ = arrive(state, item(n))
    state, effects = set_manual_stop(state, stopped=False)
    assert queued(effects) == [f"m{n}" for n in range(8)]
    assert [p.key for p in state.pending] == ["m8", "m9", "m10", "m11"]
    assert (state.count, state.status) == (8, "Stopped")
    assert transitions(effects) == [("Operational", "Warned", 5), ("Warned", "Stopped", 8)]


def test_manual_stop_during_stopped_keeps_messages_held_when_the_count_drops() -> None:
    """Below Low the watermark gate opens, but the manual stop still holds delivery."""
    state = FlowState.initial(SMALL)
    for n in range(9):
        state, _ = arrive(state, item(n))
    state, _ = set_manual_stop(state, stopped=True)
    state, effects = remove(state, 8)
    assert queued(effects) == []
    assert (state.status, len(state.pending)) == ("Operational", 1)


def test_raising_low_opens_the_gate_and_releases() -> None:
    """An operator override that puts the count below the new Low restarts delivery at once."""
    state = FlowState.initial(SMALL)
    for n in range(9):
        state, _ = arrive(state, item(n))
    state, effects = set_watermarks(state, Watermarks(low=10, warn=11, high=12))
    assert transitions(effects)[0] == ("Stopped", "Operational", 8)
    assert queued(effects) == ["m8"]


def test_lowering_high_stops_delivery() -> None:
    """An override below the current count stops the queue without removing anything."""
    state = FlowState.initial(SMALL)
    for n in range(4):
        state, _ = arrive(state, item(n))
    state, effects = set_watermarks(state, Watermarks(low=1, warn=2, high=3))
    assert effects == (StatusChanged(old="Operational", new="Stopped", count=4),)
    assert state.count == 4


def test_release_settles_a_state_rebuilt_with_pending_messages_and_an_open_gate() -> None:
    """A state loaded from storage with messages pending but the gate open releases them first."""
    state = FlowState(count=0, pending=(item(1), item(2)), status="Operational", manual_stop=False, watermarks=SMALL)
    assert queued(release(state)[1]) == ["m1", "m2"]
    state, effects = arrive(state, item(3))
    assert queued(effects) == ["m1", "m2", "m3"]


def test_removing_more_than_is_queued_is_an_error() -> None:
    """The count never goes negative: the caller's bookkeeping is wrong."""
    with pytest.raises(ValueError, match="cannot remove"):
        remove(FlowState.initial(SMALL), 1)


@pytest.mark.parametrize(("low", "warn", "high"), [(-1, 5, 8), (5, 5, 8), (3, 8, 8), (6, 5, 8), (0, 0, 0)])
def test_watermarks_must_be_ordered(low: int, warn: int, high: int) -> None:
    """Construction refuses anything but 0 <= low < warn < high."""
    with pytest.raises(ValueError, match="low < warn < high"):
        Watermarks(low=low, warn=warn, high=high)


def test_with_low_zero_a_stopped_queue_stays_stopped_even_when_empty() -> None:
    """The watermark rule read literally: 0 is a valid Low and delivery restarts only below it, so never by itself."""
    state = FlowState.initial(Watermarks(low=0, warn=1, high=2))
    for n in range(3):
        state, _ = arrive(state, item(n))
    state, _ = remove(state, 2)
    assert (state.count, state.status, len(state.pending)) == (0, "Stopped", 1)


def test_a_fresh_queue_is_not_manually_stopped_so_switching_delivery_on_changes_nothing() -> None:
    state = FlowState.initial(SMALL)

    assert state.manual_stop is False
    assert set_manual_stop(state, False) == (state, ())


def test_a_manual_stop_reports_the_count_in_the_queue_when_it_happened() -> None:
    state = FlowState.initial(SMALL)
    for n in range(3):
        state, _ = arrive(state, item(n))

    state, effects = set_manual_stop(state, True)
    _, restarted = set_manual_stop(state, False)

    assert effects == (ManualStopChanged(True, 3),)
    assert restarted == (ManualStopChanged(False, 3),)
