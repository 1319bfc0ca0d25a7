"""The watchdog that restarts the embedded nats-server when a follower publishing to JetStream stays stuck."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import nats
import nats.errors
import nats.js.errors

from exchange.kernel.errors import UnavailableError
from exchange.messaging.natsserver import EmbeddedNatsServer
from exchange.messaging.stream_watchdog import StuckStreamWatchdog, refused_by_jetstream
from exchange.messaging.streams import AcksOverdueError

PUBLISHERS = {"relay", "notifications"}


class Followers:
    """What `Health.failing` would answer, set by the test."""

    def __init__(self) -> None:
        self.failing: list[str] = []

    async def __call__(self) -> list[str]:
        return list(self.failing)


async def wait_until(condition: Callable[[], bool], within: float = 15.0) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 -- set by the supervisor thread, which no Event reaches
            await asyncio.sleep(0.05)


async def test_a_publisher_stuck_long_enough_gets_the_server_restarted_and_it_serves_again(
    nats_server: EmbeddedNatsServer,
) -> None:
    """Stuck for the whole delay: one restart, after which JetStream answers on the same port and store."""
    followers = Followers()
    watchdog = StuckStreamWatchdog(nats_server, followers, PUBLISHERS, stuck_for=0.3, every=0.05, room_needed=1)
    followers.failing = ["notifications"]
    assert not await watchdog.check()  # just noticed: not yet stuck for long enough
    await asyncio.sleep(0.35)
    assert await watchdog.check()
    await wait_until(lambda: nats_server.restarts == 1)
    nc = await nats.connect(nats_server.url)
    try:
        assert (await nc.jetstream().account_info()).limits is not None
    finally:
        await nc.close()


async def test_other_followers_a_recovery_or_a_still_full_disk_do_not_restart_it(
    nats_server: EmbeddedNatsServer,
) -> None:
    """Only a publisher to JetStream counts, a recovery resets the delay, and without room a restart cannot help."""
    followers = Followers()
    watchdog = StuckStreamWatchdog(nats_server, followers, PUBLISHERS, stuck_for=0.2, every=0.05, room_needed=1)
    full_disk = StuckStreamWatchdog(nats_server, followers, PUBLISHERS, stuck_for=0.2, every=0.05, room_needed=1 << 62)
    followers.failing = ["translog"]
    assert not await watchdog.check()
    await asyncio.sleep(0.25)
    assert not await watchdog.check()

    followers.failing = ["relay"]
    assert not await watchdog.check()
    followers.failing = []
    assert not await watchdog.check()  # recovered: the delay starts again
    followers.failing = ["relay"]
    assert not await watchdog.check()

    assert not await full_disk.check()
    await asyncio.sleep(0.25)
    assert not await full_disk.check()
    assert nats_server.restarts == 0 and watchdog.restarts == 0


async def test_a_publisher_stuck_for_a_reason_of_its_own_does_not_restart_nats_but_one_refused_by_jetstream_does(
    nats_server: EmbeddedNatsServer,
) -> None:
    """A notifier waiting for a view is not healed by a restart (which only drops every connection); acks that
    never come, or a refusal by JetStream, are."""
    followers = Followers()
    causes: dict[str, BaseException | None] = {
        "notifications": UnavailableError("the queue view is catching up with the event store", retry_after=1)
    }
    watchdog = StuckStreamWatchdog(
        nats_server, followers, PUBLISHERS, stuck_for=0.2, every=0.05, room_needed=1, cause=causes.get
    )
    followers.failing = ["notifications"]
    assert not await watchdog.check()
    await asyncio.sleep(0.25)
    assert not await watchdog.check()
    assert nats_server.restarts == 0

    causes["notifications"] = AcksOverdueError("JetStream acknowledged 0 of 3 messages within 5s")
    assert not await watchdog.check()
    await asyncio.sleep(0.25)
    assert await watchdog.check()
    await wait_until(lambda: nats_server.restarts == 1)


def test_only_nats_errors_and_overdue_acks_count_as_refused_by_jetstream() -> None:
    """The kinds of failure a restart of nats-server can heal."""
    assert refused_by_jetstream(nats.js.errors.ServiceUnavailableError())
    assert refused_by_jetstream(nats.errors.TimeoutError())
    assert refused_by_jetstream(AcksOverdueError("late"))
    assert not refused_by_jetstream(TimeoutError("a view's wait"))
    assert not refused_by_jetstream(UnavailableError("catching up", retry_after=1))
    assert not refused_by_jetstream(None)
