"""Driving the web app in headless Chromium (Debian's, installed by `make test`) with Playwright."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, async_playwright, expect

from exchange.functions.bpqd.sample import sample_body
from simulators.client import ParticipantClient, new_context_id, register
from tests.e2e.queue_helpers import wait_for_queue
from tests.e2e.read_side import new_participant
from tests.harness import ServerProcess, running_server

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


def web_exchange(name: str, *extra_args: str) -> Any:
    """The `server` fixture of a browser-test module: an exchange of the module's own (in a folder named `name`), with
    no rate limit and the environment banner the screens show."""

    @pytest.fixture(scope="module")
    def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
        data = tmp_path_factory.mktemp(name) / "data"
        with running_server(data, "--rate-limit", "0", "--environment", "Pre-production", *extra_args) as running:
            yield running

    return server


class Cast:
    """An MC that signs and sends, and LNSPs whose clients hold every entity the web app's screens need."""

    def __init__(self, server: ServerProcess, operator: ParticipantClient) -> None:
        self.server = server
        self.operator = operator
        self.clients: list[ParticipantClient] = []

    async def mc(self) -> ParticipantClient:
        client = await new_participant(self.server, self.operator, "MC", ["MC"], enrol=True)
        self.clients.append(client)
        return client

    async def participant(self, prefix: str, roles: list[str], scopes: list[str]) -> ParticipantClient:
        participant_id = f"{prefix}{secrets.token_hex(3).upper()}"[:10]
        credentials = await register(self.operator, participant_id, roles, scopes)
        client = ParticipantClient(self.server.base_url, credentials)
        self.clients.append(client)
        await client.login()
        return client

    async def lnsp(self) -> ParticipantClient:
        return await self.participant("LNSP", ["LNSP"], WEB_SCOPES)

    async def lnsp_signed_in(
        self, browser: Browser, path: str = "/app"
    ) -> tuple[ParticipantClient, ParticipantClient, Page]:
        """A new MC and LNSP, and a new page where the LNSP has signed in, showing `path`."""
        mc, lnsp = await self.mc(), await self.lnsp()
        return mc, lnsp, await signed_in(browser, self.server, lnsp, path)

    async def queued(self) -> tuple[ParticipantClient, ParticipantClient, str, bytes]:
        """A new MC and LNSP, and the context id and body of a message from one to the other, in the LNSP's queue."""
        mc, lnsp = await self.mc(), await self.lnsp()
        context_id, body = await self.send(mc, lnsp)
        await wait_for_queue(lnsp, 1)
        return mc, lnsp, context_id, body

    async def send(self, mc: ParticipantClient, lnsp: ParticipantClient, seed: int = 0) -> tuple[str, bytes]:
        body = sample_body(mc.participant_id, [lnsp.participant_id], seed=seed)
        context_id = new_context_id("pqd", "bpqd", "Medium", mc.participant_id)
        response = await mc.submit(body, context_id=context_id)
        assert response.status_code == 200, response.text
        return context_id, body


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


async def downloaded(page: Page, link_name: str, *, exact: bool = False) -> bytes:
    """The bytes of the file the link named `link_name` downloads."""
    async with page.expect_download() as info:
        await page.get_by_role("link", name=link_name, exact=exact).click()
    path = await (await info.value).path()
    return await asyncio.to_thread(Path(path).read_bytes)


async def signed_in(browser: Browser, server: ServerProcess, client: ParticipantClient, path: str = "/app") -> Page:
    """A new page on `server` where `client` has signed in, showing `path`."""
    page = await new_page(browser, server.base_url)
    await sign_in(page, client, path)
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
