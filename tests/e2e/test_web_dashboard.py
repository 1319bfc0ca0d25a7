"""The operator's dashboard in headless Chromium, against an exchange of its own: every message it counts was sent
by the test, so its figures can be checked exactly."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser, expect

from simulators.client import ParticipantClient
from tests.e2e.browser import (
    Cast,
    assert_accessible,
    go_to_screen,
    screenshot,
    signed_in,
    web_exchange,
)
from tests.e2e.queue_helpers import queued_ids, wait_for_queue
from tests.harness import ServerProcess

pytestmark = pytest.mark.e2e


server = web_exchange("web-dashboard")


async def test_the_dashboard_counts_the_messages_sent_and_the_queues_they_wait_in(
    server: ServerProcess, operator: ParticipantClient, cast: Cast, browser: Browser
) -> None:
    """Three messages to one LNSP and two to another: 5 accepted and delivered, queues of 3 and 2, in the totals,
    the queue table and the table of every stretch; a deleted message leaves the queue's figure."""
    mc, first, second = await cast.mc(), await cast.lnsp(), await cast.lnsp()
    sent = [await cast.send(mc, first, seed=n) for n in range(3)] + [await cast.send(mc, second, seed=9)]
    await cast.send(mc, second, seed=10)
    assert len(await wait_for_queue(first, 3)) == 3 and len(await wait_for_queue(second, 2)) == 2

    page = await signed_in(browser, server, operator)
    await go_to_screen(page, "Administration")
    await page.get_by_role("navigation", name="Administration").get_by_role("link", name="Dashboard").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    await expect(page.get_by_test_id("total-accepted")).to_have_text("5")
    await expect(page.get_by_test_id("total-deliveries")).to_have_text("5")
    queues = page.get_by_test_id("queues")
    await expect(queues.locator(f"[data-queue='{first.participant_id}/pqd'] td").last).to_have_text("3")
    await expect(queues.locator(f"[data-queue='{second.participant_id}/pqd'] td").last).to_have_text("2")
    await expect(page.get_by_test_id("window")).to_contain_text("every 10 seconds")
    for chart in ("accepted", "lag", "depths"):
        await expect(page.get_by_test_id(f"chart-{chart}").locator("svg[role='img']")).to_have_count(1)

    # The table beside the charts holds the same numbers, stretch by stretch.
    await page.get_by_text("Every figure by stretch of time, as a table").click()
    rows = page.get_by_test_id("dashboard-table").locator("tbody tr")
    accepted = [int(text) for text in await rows.locator("td:nth-child(2)").all_text_contents()]
    waiting = await rows.locator("td:nth-child(6)").all_text_contents()
    assert sum(accepted) == 5 and waiting[-1] == "5"
    await page.get_by_text("Messages accepted per").first.scroll_into_view_if_needed()
    await screenshot(page, "admin-dashboard")
    await assert_accessible(page)

    context_id, _ = sent[0]
    deleted = await first.delete(context_id)
    assert deleted.status_code in (200, 204), deleted.text
    # The dashboard reads the queue view the API lists from: once the list has lost it, so has the dashboard.
    for _ in range(200):
        if context_id not in await queued_ids(first):
            break
        await asyncio.sleep(0.1)
    await page.reload()
    await expect(queues.locator(f"[data-queue='{first.participant_id}/pqd'] td").last).to_have_text("2")
    await expect(page.get_by_test_id("total-accepted")).to_have_text("5")
