"""Background tasks stop even when they swallow a cancellation."""

import asyncio

from exchange.kernel.tasks import Repeating, cancel_and_wait


async def test_a_task_that_swallows_a_cancellation_is_still_stopped():
    """The first cancellation is lost (as one meeting a result can be); the second one ends the task."""
    cancellations = 0

    async def stubborn() -> None:
        nonlocal cancellations
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                cancellations += 1
                if cancellations >= 2:
                    raise

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await cancel_and_wait(task)
    assert task.cancelled()
    assert cancellations == 2


async def test_a_task_that_already_failed_is_collected_quietly():
    """A finished task with an exception is retrieved, so asyncio does not log it again at collection."""

    async def failing() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(failing())
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    assert task.done()
    assert task._log_traceback is False  # asyncio's own "never retrieved" flag


class RecordingLog:
    """Stands in for a structlog logger: keeps the events of `exception` calls."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def exception(self, event: str) -> None:
        self.failures.append(event)


async def test_a_repeating_step_that_fails_is_logged_and_runs_again_until_stopped() -> None:
    """The second round fails: it is logged under the owner's event, and the third still runs; stop() ends it."""
    rounds = 0
    third = asyncio.Event()

    async def step() -> None:
        nonlocal rounds
        rounds += 1
        if rounds == 2:
            raise RuntimeError("one bad round")
        if rounds == 3:
            third.set()

    log = RecordingLog()
    repeating = Repeating("test-step", step, 0.01, log=log, failure="step_failed")
    repeating.start()
    async with asyncio.timeout(5):
        await third.wait()
    await repeating.stop()
    stopped_at = rounds
    await asyncio.sleep(0.05)
    assert log.failures == ["step_failed"]
    assert rounds == stopped_at >= 3


async def test_a_repeating_step_told_to_wait_first_does_not_run_at_once() -> None:
    """With wait_first, nothing runs before the first interval has passed."""
    rounds = 0

    async def step() -> None:
        nonlocal rounds
        rounds += 1

    repeating = Repeating("test-wait", step, 10.0, log=RecordingLog(), failure="step_failed", wait_first=True)
    repeating.start()
    await asyncio.sleep(0.05)
    await repeating.stop()
    assert rounds == 0
