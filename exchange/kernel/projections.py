"""What the projections of the read side share, here because translog/ and archive/ may import the kernel only."""

from __future__ import annotations

from typing import Any


class ViewsOnly:
    """A projection whose every effect is in its views: nothing to do outside the database before the follower
    records its position (the `act` step of exchange.readmodels.projector's Handler)."""

    async def act(self, events: list[tuple[int, Any]]) -> None:
        """Nothing outside the database."""
