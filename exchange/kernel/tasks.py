"""Stopping the exchange's background tasks reliably."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel `task` and return once it has finished, whatever it was awaiting.

    One cancellation is not always enough: asyncio.wait_for on Python 3.11 drops one that meets a result
    arriving at the same moment, and client libraries turn some into errors their callers retry. So cancel
    again until the task is done. Its outcome is then retrieved, so a failure is not reported a second time
    when the task is collected.
    """
    while task is not None and not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=1.0)
    if task is not None and not task.cancelled():
        task.exception()
