"""Background tasks stop even when they swallow a cancellation."""

import asyncio

from exchange.kernel.tasks import cancel_and_wait


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
