"""A recorded position never moves backwards: another process following the same views may be ahead."""

from __future__ import annotations

from pathlib import Path

from exchange.readmodels.views import open_views, track, tracked_position


async def test_a_lower_position_leaves_the_recorded_one_and_a_higher_one_replaces_it(tmp_path: Path) -> None:
    views = await open_views(tmp_path / "views.sqlite")
    try:
        await track(views, "notifications", 100)
        await track(views, "notifications", 80)  # a slower process, or a relay replaying, records less
        assert await tracked_position(views, "notifications") == 100
        await track(views, "notifications", 120)
        assert await tracked_position(views, "notifications") == 120
        assert await tracked_position(views, "queue") == 0
    finally:
        await views.close()
