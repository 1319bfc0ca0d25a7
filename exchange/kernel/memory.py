"""Keeping the memory the process has freed from piling up: fewer malloc arenas, and free pages given back.

glibc's malloc gives new threads arenas of their own, up to eight per core, keeps what a thread frees in its
arena for later, and hands memory back to the system only from the top of a heap. `idx
serve` allocates blocks too large for Python's own small-object allocator (payloads, rows, JSON, signatures) in
many threads: request threads, one per SQLite connection, the signing work. Through a soak each of its sixteen
arenas kept a high-water mark of its own: the resident size grew by over 2 MiB per thousand messages, of which
four fifths was memory malloc held free (docs/performance.md, "Memory through the flow"). So the process keeps to
two arenas, which reuse each other's frees (the threads take turns at the GIL anyway, so they hardly contend for
them), and gives the free pages of both back every minute. Where malloc is not glibc's these calls do not exist
and nothing is done.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
from typing import Any

from exchange.kernel.tasks import Repeating

ARENAS = 2
# glibc's mallopt parameter for the number of arenas (malloc.h).
_M_ARENA_MAX = -8
# How often the free pages go back: often enough that free memory never adds up to much, rarely enough that the
# walk through the arenas (a few milliseconds, each arena locked in turn) costs nothing that shows.
RELEASE_INTERVAL = 60.0


@functools.cache
def _glibc() -> Any | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def can_release() -> bool:
    """Whether this process's malloc can give free memory back on request (glibc's can)."""
    return _glibc() is not None


def limit_arenas() -> None:
    """Keep malloc to ARENAS arenas from now on. Call it before the process starts its threads: a thread that
    already has an arena keeps it."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_ARENA_MAX, ARENAS)


def release_free_memory() -> None:
    """Give the free pages of every malloc arena back to the system. Thread-safe; ctypes lets go of the GIL during
    the call, so run it in a thread to keep the event loop going."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def periodic_release(log: Any) -> Repeating | None:
    """A task that gives free memory back every RELEASE_INTERVAL seconds, in a thread; None where it cannot."""
    if not can_release():
        return None
    return Repeating(
        "memory-release",
        lambda: asyncio.to_thread(release_free_memory),
        RELEASE_INTERVAL,
        log=log,
        failure="memory_release_failed",
        wait_first=True,
    )
