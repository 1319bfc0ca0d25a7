"""Which messageContextIds were accepted, and where in the log: the idempotency index of the submit path.

A submission asks here whether its messageContextId was accepted before, instead of reading the `Message`
aggregate back from the event store (`Ledger.find`): a new id, the common case, costs a dictionary lookup and a
binary search in memory, no read. The index holds each accepted message's log position, so a resubmission reads
exactly one stored event, the original `Submitted`, for its receipt or its conflict.

It holds an entry for every message ever accepted, so it is kept compact: 16 bytes a message (a 64-bit
fingerprint of the message's aggregate id and the 64-bit position, in two parallel sorted arrays) instead of the
100+ bytes of a dictionary entry. New entries wait in a small dictionary by their full id and are merged into the
arrays in batches by a thread of their own, off the request's path. A fingerprint is not the id: a hit in the
arrays is confirmed by reading the `Submitted` event at its position and comparing its originator id, so two ids
that share a fingerprint cost a read, never a wrong answer.

It is fed by the same events as everything else: the submit use case adds each message it commits, and
`catch_up()` reads the `Submitted` events of the log after the index's position (once when the exchange starts,
and again when the event store refuses a message as a duplicate that another process committed). The event
store's uniqueness of (aggregate id, version) stays the final judge: the index only spares the reads.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from exchange.domain.messages import Message
from exchange.domain.topics import topic_of
from exchange.eventstore.ledger import Ledger

SUBMITTED = topic_of(Message, "Submitted")

# Additions wait in a dictionary (about 150 bytes each) until there are this many, then go into the arrays in one
# merge, whose cost is mostly a copy of the arrays: rare enough to be cheap, small enough not to show in memory.
RECENT_LIMIT = 4096


class AcceptedMessages:
    """Accepted messages by aggregate id → position of their `Submitted` event in the notification log.

    `fingerprint_bits` below 64 is for tests, to make fingerprints collide."""

    def __init__(
        self, ledger: Ledger, batch: int = 1000, *, recent_limit: int = RECENT_LIMIT, fingerprint_bits: int = 64
    ) -> None:
        self._ledger = ledger
        self._batch = batch
        self._recent_limit = recent_limit
        self._fingerprint_mask = (1 << fingerprint_bits) - 1
        # Sorted by fingerprint (several entries may share one); positions[i] belongs to keys[i].
        self._keys = array("Q")
        self._positions = array("q")
        # Added since the last merge, by the id's 128-bit integer: exact, so no other message's entry is met there.
        self._recent: dict[int, int] = {}
        # The additions a merge under way is putting into the arrays: still searched until the new arrays replace
        # the old ones. None when no merge is under way; at most one is.
        self._merging: dict[int, int] | None = None
        # Guards the fields above against each other; held for dictionary operations only, never for a merge.
        self._lock = threading.Lock()
        self._merged = threading.Condition(self._lock)  # notified when a merge ends
        self._position = 0
        self._catching_up = threading.Lock()

    def __len__(self) -> int:
        """Entries held (a message added and later read again from the log counts twice until the next merge)."""
        with self._lock:
            return len(self._keys) + len(self._merging or ()) + len(self._recent)

    def add(self, message_id: UUID, position: int) -> None:
        """A message this process committed at `position`. Thread-safe; never reads the event store."""
        with self._lock:
            self._recent[message_id.int] = position
            frozen = self._freeze() if len(self._recent) >= self._recent_limit else None
        if frozen is not None:
            threading.Thread(
                target=self._merge_in_background, args=(frozen,), name="accepted-merge", daemon=True
            ).start()

    def catch_up(self) -> None:
        """Take in every `Submitted` event committed so far, by any process. Thread-safe; reads the event store,
        and merges in the calling thread (a thread of its own, at startup) rather than starting merges."""
        with self._catching_up:
            stop = self._ledger.last_position()
            while self._position < stop:
                found = self._ledger.notifications(self._position, self._batch, (SUBMITTED,), stop)
                self._take_in((UUID(str(notification.originator_id)).int, notification.id) for notification in found)
                self._position = found[-1].id if len(found) == self._batch else stop

    def submitted(self, message_id: UUID) -> Any | None:
        """The original `Submitted` event of an accepted message (one stored event read, more only for ids that
        share a fingerprint), or None when the index knows of none. Thread-safe."""
        for position in self.candidates(message_id):
            event = submitted_at(self._ledger, position)
            if event.originator_id == message_id:
                return event
        return None

    def candidates(self, message_id: UUID) -> list[int]:
        """The positions whose `Submitted` event may be the message's, without a read: its own if it was added
        since the last merge, else those of the entries with its fingerprint (almost always none or one)."""
        key = message_id.int
        with self._lock:
            position = self._recent.get(key)
            if position is None and self._merging is not None:
                position = self._merging.get(key)
            keys, positions = self._keys, self._positions
        found = [] if position is None else [position]
        fingerprint = self._fingerprint(key)
        at = bisect_left(keys, fingerprint)
        while at < len(keys) and keys[at] == fingerprint:
            if positions[at] != position:
                found.append(positions[at])
            at += 1
        return found

    def merge(self) -> None:
        """Put every addition into the arrays now, after any merge under way. Thread-safe."""
        while True:
            with self._merged:
                while self._merging is not None:
                    self._merged.wait()
                frozen = self._freeze()
            if frozen is None:
                return
            self._merge(frozen)

    def _take_in(self, entries: Iterable[tuple[int, int]]) -> None:
        """Entries read from the log, merged in the calling thread once they are a batch."""
        with self._lock:
            self._recent.update(entries)
            frozen = self._freeze() if len(self._recent) >= self._recent_limit else None
        if frozen is not None:
            self._merge(frozen)

    def _freeze(self) -> dict[int, int] | None:
        """Hand the recent additions to a merge (lock held); None when there are none or a merge is under way."""
        if not self._recent or self._merging is not None:
            return None
        self._merging, self._recent = self._recent, {}
        return self._merging

    def _merge_in_background(self, frozen: dict[int, int] | None) -> None:
        while frozen is not None:
            self._merge(frozen)
            with self._lock:
                # What came in meanwhile, if it is already a batch; otherwise the next addition starts a merge.
                frozen = self._freeze() if len(self._recent) >= self._recent_limit else None

    def _merge(self, frozen: dict[int, int]) -> None:
        """New arrays with `frozen` merged in, then swapped for the old ones. Only the one merge under way (the
        holder of `_merging`) replaces the arrays, so it reads them without the lock."""
        try:
            keys, positions = merged(
                self._keys, self._positions, sorted((self._fingerprint(key), at) for key, at in frozen.items())
            )
        except BaseException:
            with self._merged:  # give the additions back, so that they are neither lost nor stuck in `_merging`
                frozen.update(self._recent)
                self._recent, self._merging = frozen, None
                self._merged.notify_all()
            raise
        with self._merged:
            self._keys, self._positions, self._merging = keys, positions, None
            self._merged.notify_all()

    def _fingerprint(self, key: int) -> int:
        # Both halves of the id: a uuid5 fixes 4 bits of the high half and 2 of the low one.
        return ((key >> 64) ^ key) & self._fingerprint_mask


def merged(keys: array[int], positions: array[int], additions: list[tuple[int, int]]) -> tuple[array[int], array[int]]:
    """Sorted `keys` and their `positions` with the sorted (key, position) `additions` merged in; an addition
    already present (the same key at the same position: a message added, then read again from the log) is not
    repeated. The runs between two additions are copied as slices, so a merge costs a binary search per addition
    and a copy of the arrays."""
    out_keys, out_positions = array("Q"), array("q")
    start = 0
    for key, position in additions:
        at = bisect_left(keys, key, start)
        if at > start:
            out_keys.extend(keys[start:at])
            out_positions.extend(positions[start:at])
            start = at
        while at < len(keys) and keys[at] == key and positions[at] != position:
            at += 1
        if at < len(keys) and keys[at] == key:
            continue  # already there
        out_keys.append(key)
        out_positions.append(position)
    out_keys.extend(keys[start:])
    out_positions.extend(positions[start:])
    return out_keys, out_positions


def submitted_at(ledger: Ledger, position: int) -> Any:
    """The `Submitted` event at `position` of the notification log: one row read by its key, no aggregate."""
    found = ledger.notifications(position - 1, 1, (SUBMITTED,))
    if not found or found[0].id != position:
        raise LookupError(f"the log has no Submitted event at position {position}")
    return ledger.decode(found[0])
