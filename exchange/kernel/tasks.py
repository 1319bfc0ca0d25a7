"""The exchange's background tasks: repeating a step, and stopping a task reliably."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
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


class Repeating:
    """A step run every `interval` seconds in a task of its own, from start() until stop().

    A failing step is logged as `failure` and the next one still runs: one bad round must not end the work for good.
    With `wait_first`, an interval passes before the first step, for work whose first round is done at start-up.
    """

    def __init__(
        self,
        name: str,
        step: Callable[[], Awaitable[object]],
        interval: float,
        *,
        log: Any,
        failure: str,
        wait_first: bool = False,
    ) -> None:
        self._name = name
        self._step = step
        self._interval = interval
        self._log = log  # the owner's logger, so a failure is reported under the owner's name
        self._failure = failure
        self._wait_first = wait_first
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def _run(self) -> None:
        if self._wait_first:
            await asyncio.sleep(self._interval)
        while True:
            try:
                await self._step()
            except Exception:
                self._log.exception(self._failure)
            await asyncio.sleep(self._interval)


class RunsInRounds:
    """A service whose background work is one `Repeating`, made in its constructor as `self._rounds`.

    Starting and stopping such a service is starting and stopping that task and nothing more, so this is the one
    place that says so rather than each service writing the same two methods again.
    """

    _rounds: Repeating

    def start(self) -> None:
        self._rounds.start()

    async def stop(self) -> None:
        await self._rounds.stop()


class LoopWithOwnThread:
    """A loop in a task of its own (`_run`) whose blocking calls go to one thread of its own (`_executor`), so they
    run one at a time and in order, and never wait behind the default pool's other work.

    stop() cancels the loop, waits for it, then for the thread's last call.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        self._executor.shutdown(wait=True)

    async def _run(self) -> None:
        raise NotImplementedError
