"""Driving the web app in headless Chromium (Debian's, installed by `make test`) with Playwright."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, async_playwright, expect

from simulators.client import ParticipantClient

# Where screenshots go: the folder this variable names (`make screenshots` names docs/screenshots), else a fresh
# temporary folder, so that an ordinary test run leaves docs/ as it was.
SCREENSHOTS_VARIABLE = "IDX_SCREENSHOTS"
# axe-core impacts that fail a screen; "moderate" and "minor" ones are reported by axe but do not.
BLOCKING_IMPACTS = ("serious", "critical")
# Without the background-networking switches Chromium keeps calling home, which this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WEB_SCOPES = [
    "PQD_BPQD",
    "TLS_CERTIFICATE_MANAGEMENT",
    "TRANSLOG_TRANSLOG",
    "ARCH_RETRIEVE",
    "EVENT_NOTIFY",
    "FCTRL_STATUS",
    "FCTRL_FCTRL",
]
GENERATOR_WEB_SCOPES = ["GR_RECALL", "BID_ENERGY", "TRANSLOG_TRANSLOG", "FCTRL_STATUS", "EVENT_NOTIFY"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is missing: `make test` installs Debian's package `chromium` (apt-get install chromium)"
    return found


@asynccontextmanager
async def launched() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def new_page(browser: Browser, base_url: str) -> Page:
    context = await browser.new_context(
        base_url=base_url,
        viewport={"width": 1366, "height": 860},
        accept_downloads=True,
        locale="en-AU",
        timezone_id="Australia/Brisbane",
    )
    page = await context.new_page()
    page.set_default_timeout(15_000)
    return page


async def sign_in(page: Page, client: ParticipantClient, path: str = "/app") -> None:
    await page.goto(path)
    await page.get_by_label("Client id").fill(client.credentials.client_id)
    await page.get_by_label("Client secret").fill(client.credentials.client_secret)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_test_id("participant")).to_have_text(client.participant_id)


async def go_to_screen(page: Page, title: str) -> None:
    await page.get_by_role("navigation", name="Screens").get_by_role("link", name=title).click()
    await expect(page.get_by_role("heading", level=1)).to_be_visible()


async def live(page: Page) -> None:
    """Wait until the page's notification socket is open, so that what happens next reaches it."""
    await expect(page.locator("#live-status")).to_have_text("Live")


@cache
def screenshots() -> Path:
    chosen = os.environ.get(SCREENSHOTS_VARIABLE)
    folder = Path(chosen) if chosen else Path(tempfile.mkdtemp(prefix="idx-screenshots-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def screenshot(page: Page, name: str) -> None:
    await page.screenshot(path=str(screenshots() / f"{name}.png"), full_page=True)


@cache
def _axe() -> Axe:
    # axe-core's own script, from the installed package: nothing is fetched from a network.
    return Axe()


async def assert_accessible(page: Page) -> None:
    """axe-core finds no serious or critical violation on the page as it is now (WCAG 2.1 A and AA, best practice)."""
    # A region that htmx is still refreshing would be checked half-swapped.
    await page.wait_for_load_state("networkidle")
    results = await _axe().run(page)
    blocking = [v for v in results.response["violations"] if v.get("impact") in BLOCKING_IMPACTS]
    found = [
        f"{v['impact']} {v['id']}: {v['help']} at " + ", ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in blocking
    ]
    assert not found, f"axe on {page.url}:\n" + "\n".join(found)
