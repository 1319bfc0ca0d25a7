"""Administration's inputs and lists: every string and number in range, and the participant list paged."""

from __future__ import annotations

import pytest

from exchange.kernel.errors import MalformedError
from tests.unit.services.conftest import Market


async def test_the_participant_list_pages_in_registration_order_until_the_cursor_runs_out(market: Market) -> None:
    """Pages of two hand out every participant once, in registration order, with the total on each page."""
    for _ in range(5):
        await market.participant("MC", ["MC"], enrol=False)
    expected = [p.participant_id for p in await market.services.admin.participants()]

    seen: list[str] = []
    cursor = None
    while True:
        page = await market.services.admin.participant_page(2, cursor)
        assert len(page.items) <= 2 and page.total_records == len(expected)
        seen += [p.participant_id for p in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert seen == expected and len(seen) >= 5


async def test_a_participant_cursor_the_exchange_did_not_hand_out_is_malformed(market: Market) -> None:
    """A forged cursor is a 400, not a database error."""
    with pytest.raises(MalformedError):
        await market.services.admin.participant_page(2, "bm90LWEtY3Vyc29y")
