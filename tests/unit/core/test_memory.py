"""Memory freed by the process's threads goes back to the system when asked, not only at the top of a heap."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from exchange.kernel.memory import ARENAS, can_release, release_free_memory

pytestmark = pytest.mark.skipif(not can_release(), reason="malloc here cannot give free memory back (not glibc)")


def resident_anonymous_kib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssAnon:"))


def test_memory_a_thread_freed_around_blocks_still_in_use_goes_back_to_the_system() -> None:
    """A thread allocates 64 MiB in 4 KiB blocks and frees all but every 64th, which pins its arena's heap: the
    resident size stays up until `release_free_memory`, which gives back at least half of the 64 MiB."""
    kept: list[bytes] = []

    def allocate_and_free_most() -> None:
        blocks = [bytes(4096) for _ in range(16_384)]
        kept.extend(blocks[::64])
        blocks.clear()

    thread = threading.Thread(target=allocate_and_free_most)
    thread.start()
    thread.join()
    before = resident_anonymous_kib()

    release_free_memory()

    assert before - resident_anonymous_kib() > 32 * 1024
    assert len(kept) == 256


ARENAS_OF_EIGHT_THREADS = """
import ctypes, sys, threading
from exchange.kernel.memory import limit_arenas
if sys.argv[1] == "limited":
    limit_arenas()
ready = threading.Barrier(8)
def allocate():
    ready.wait()
    blocks = [bytes(4096) for _ in range(256)]
threads = [threading.Thread(target=allocate) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
ctypes.CDLL(None).malloc_stats()  # one "Arena N:" paragraph per arena, on stderr
"""


def arenas_of_eight_threads(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", ARENAS_OF_EIGHT_THREADS, mode], capture_output=True, text=True, timeout=60, check=True
    )
    return sum(1 for line in done.stderr.splitlines() if line.startswith("Arena "))


def test_with_arenas_limited_eight_threads_share_two_arenas() -> None:
    """Eight threads allocating at once get arenas of their own, unless `limit_arenas` was called first: then two."""
    assert arenas_of_eight_threads("unlimited") > ARENAS
    assert arenas_of_eight_threads("limited") == ARENAS
