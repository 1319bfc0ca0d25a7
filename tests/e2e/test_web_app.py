"""The IDX web app in headless Chromium: what an LNSP and a generator do in a browser, checked from outside.

Each test starts from a signed-out browser against one exchange (started with `--environment Pre-production`),
uses only what a person sees (labels, buttons, links), and saves a screenshot of each screen (`browser.screenshots`).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import secrets
import time

import httpx
import pytest
import websockets
from playwright.async_api import Browser, Page, expect

from simulators.client import ParticipantClient
from tests.e2e.browser import (
    GENERATOR_WEB_SCOPES,
    WEB_SCOPES,
    Cast,
    downloaded,
    go_to_screen,
    live,
    new_page,
    screenshot,
    sign_in,
    signed_in,
    web_exchange,
)
from tests.e2e.queue_helpers import queued_ids, wait_for_queue
from tests.e2e.read_side import close_code_of, eventually
from tests.harness import ServerProcess

pytestmark = pytest.mark.e2e


server = web_exchange("web")


async def test_an_lnsp_finds_a_message_in_the_transaction_log_and_downloads_its_payload(
    server: ServerProcess, cast: Cast, browser: Browser
) -> None:
    _, lnsp, context_id, body = await cast.queued()
    page = await signed_in(browser, server, lnsp)

    await go_to_screen(page, "Transaction log")
    await page.get_by_text("Advanced search").click()
    await page.get_by_label("Message context id").fill(context_id)
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_test_id("total")).to_have_text("1")
    await screenshot(page, "translog")

    await page.get_by_role("link", name=context_id).click()
    related = page.get_by_test_id("related")
    await expect(related).to_contain_text(lnsp.participant_id)
    await expect(related).to_contain_text("completed")
    await screenshot(page, "translog-message")
    assert await downloaded(page, "Download payload") == body

    await page.goto("/app/translog")
    exported = (await downloaded(page, "Export CSV")).decode()
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [row["messageContextId"] for row in rows if row["messageContextId"]] == [context_id]


async def test_new_messages_appear_in_the_transaction_log_without_reloading(
    server: ServerProcess, cast: Cast, browser: Browser
) -> None:
    mc, lnsp, page = await cast.lnsp_signed_in(browser, "/app/translog")
    await expect(page.get_by_test_id("total")).to_have_text("0")
    await live(page)
    await page.evaluate("window.sameDocument = true")

    context_id, _ = await cast.send(mc, lnsp)

    await expect(page.get_by_role("link", name=context_id)).to_be_visible()
    await expect(page.locator("#notices")).to_contain_text(context_id)
    assert await page.evaluate("window.sameDocument === true"), "the page was reloaded"


async def test_an_lnsp_stops_and_starts_delivery_from_the_flow_control_screen(
    server: ServerProcess, cast: Cast, browser: Browser
) -> None:
    mc, lnsp, page = await cast.lnsp_signed_in(browser, "/app/flowcontrol")
    await expect(page.get_by_test_id("switches-pqd")).to_have_text("2 of 2 manual switches left today")

    await page.get_by_role("button", name="Stop delivery").click()
    await expect(page.get_by_test_id("flash")).to_have_text("Delivery of pqd stopped.")
    await expect(page.get_by_test_id("delivery-pqd")).to_have_text("Stopped by you")
    await expect(page.get_by_test_id("switches-pqd")).to_have_text("1 of 2 manual switches left today")

    held, _ = await cast.send(mc, lnsp)
    # A held message sends no notification, so the screen is reloaded until the route has reached the gate.
    await reload_until(page, "pending-pqd", "1")
    assert await queued_ids(lnsp) == [], "a manual stop holds delivery"
    await screenshot(page, "flowcontrol")

    await live(page)
    await page.get_by_role("button", name="Start delivery").click()
    await expect(page.get_by_test_id("flash")).to_have_text("Delivery of pqd started.")
    # The held message enters the queue after the switch; the screen follows through the notifications.
    await expect(page.get_by_test_id("count-pqd")).to_have_text("1")
    await expect(page.get_by_test_id("pending-pqd")).to_have_text("0")
    assert await wait_for_queue(lnsp, 1) == [held]
    switch = page.get_by_role("button", name="Stop delivery")
    await expect(switch).to_be_disabled()
    await expect(page.get_by_test_id("switches-pqd")).to_have_text("0 of 2 manual switches left today")

    await go_to_screen(page, "Participant status")
    history = page.get_by_test_id("history")
    await expect(history.get_by_text("Manually stopped")).to_have_count(1)
    await expect(page.get_by_test_id("own")).to_contain_text("bpqd")
    await screenshot(page, "participant-status")


async def test_an_lnsp_retrieves_a_delivered_message_from_the_outbound_archive(
    server: ServerProcess, cast: Cast, browser: Browser
) -> None:
    mc, lnsp, context_id, body = await cast.queued()
    assert (await lnsp.delete(context_id)).status_code == 204  # gone from the queue, kept in the archive
    page = await signed_in(browser, server, lnsp, "/app/archive")
    await expect(page.get_by_test_id("total")).to_have_text("1")
    await screenshot(page, "archive")

    await page.get_by_label("Search (message context id or sender)").fill(context_id)
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(context_id)
    await expect(page.locator("main")).to_contain_text(mc.participant_id)
    await screenshot(page, "archive-item")
    assert await downloaded(page, "Download payload (re-signed)") == body


async def test_a_generator_creates_clones_modifies_and_deletes_recall_plans(
    server: ServerProcess, cast: Cast, operator: ParticipantClient, browser: Browser
) -> None:
    generator = await cast.participant("GEN", ["GENERATOR"], GENERATOR_WEB_SCOPES)
    duid = f"D{secrets.token_hex(3).upper()}"
    unit = {"duid": duid, "participantId": generator.participant_id, "stationId": "WEBSTN", "maxCapacityMW": 300.0}
    assert (await operator.http.post("/admin/v1/duids", json=unit, headers=operator.headers())).status_code == 201
    page = await signed_in(browser, server, generator, "/app/recall")

    await page.get_by_role("link", name="New recall plan").click()
    await page.get_by_label("Recall plan id").fill("OUTAGE1")
    await page.get_by_label("DUID").fill(duid)
    await page.get_by_label("Description").fill("Boiler overhaul")
    await fill_entry(page, 0, "2026-07-01", "2026-07-07", "240", "400", flag2="UNC")  # 400 MW > 300 MW capacity
    await page.get_by_role("button", name="New recall entry").click()
    await fill_entry(page, 1, "2026-07-08", "2026-07-10", "120", "100")
    await page.get_by_role("button", name="Save changes").click()

    await expect(page.get_by_test_id("errors")).to_contain_text("Entry 1, Stage1MW")
    await expect(page.locator("#e0\\.Stage1MW")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#e1\\.Stage1MW")).not_to_have_attribute("aria-invalid", "true")
    await screenshot(page, "recall-plan-errors")
    await page.locator("#e0\\.Stage1MW").fill("200")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_test_id("flash")).to_contain_text("Recall plan OUTAGE1 created: version 1")
    await expect(page.get_by_test_id("entries").locator("tbody tr")).to_have_count(2)
    await screenshot(page, "recall-plan")

    await page.get_by_role("link", name="Clone").click()
    await page.get_by_label("Recall plan id").fill("OUTAGE2")
    # Plans of one DUID may not overlap, so the clone moves to August.
    await fill_entry(page, 0, "2026-08-01", "2026-08-07")
    await fill_entry(page, 1, "2026-08-08", "2026-08-10")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_test_id("flash")).to_contain_text("Recall plan OUTAGE2 cloned: version 1")

    await page.get_by_role("link", name="Modify").click()
    await page.get_by_label("Description").fill("Boiler overhaul, second unit")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_test_id("flash")).to_contain_text("Recall plan OUTAGE2 saved: version 2")

    await page.get_by_role("link", name="← Recall plans").click()
    plans = page.get_by_test_id("plans")
    await expect(plans.locator("tbody tr")).to_have_count(2)
    await screenshot(page, "recall-plans")
    await page.get_by_label("Search").fill("second unit")
    await page.get_by_role("button", name="Filter").click()
    await expect(plans.locator("tbody tr")).to_have_count(1)
    await page.get_by_role("link", name="Delete recall plan OUTAGE2").click()
    await page.get_by_role("button", name="Yes, delete the plan").click()
    await expect(page.get_by_test_id("flash")).to_have_text(f"Recall plan OUTAGE2 of {duid} deleted.")
    await expect(plans.locator("tbody tr[data-plan]")).to_have_count(1)
    await expect(plans).to_contain_text("OUTAGE1")

    # What the browser did went through the web services: the operator's queue holds every version, once each
    # has been delivered, which happens after the browser's answer.
    async def operator_holds_every_version() -> None:
        listed = await operator.http.get(
            "/gr/v1/recall", params={"initiatingParticipantId": generator.participant_id}, headers=operator.headers()
        )
        assert listed.status_code == 200, listed.text
        mine = [m for m in listed.json()["data"] if m["initiatingParticipantId"] == generator.participant_id]
        assert len(mine) == 4, mine

    await eventually(operator_holds_every_version)


async def reload_until(page: Page, test_id: str, text: str, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while await page.get_by_test_id(test_id).text_content() != text and time.monotonic() < deadline:
        await page.wait_for_timeout(200)
        await page.reload()
    await expect(page.get_by_test_id(test_id)).to_have_text(text)


async def fill_entry(
    page: Page,
    index: int,
    start: str,
    end: str,
    minutes: str | None = None,
    mw: str | None = None,
    flag2: str | None = None,
) -> None:
    await page.locator(f"#e{index}\\.StartDate").fill(start)
    await page.locator(f"#e{index}\\.EndDate").fill(end)
    if minutes is not None:
        await page.locator(f"#e{index}\\.Stage1RecallMinutesStart").fill(minutes)
        await page.locator(f"#e{index}\\.Stage1RecallMinutesEnd").fill(minutes)
    if mw is not None:
        await page.locator(f"#e{index}\\.Stage1MW").fill(mw)
    if flag2 is not None:
        await page.locator(f"#e{index}\\.Stage2RecallFlag").select_option(flag2)


async def test_sign_in_screens_and_data_follow_the_participant(
    server: ServerProcess, cast: Cast, browser: Browser
) -> None:
    mc, lnsp, other = await cast.mc(), await cast.lnsp(), await cast.lnsp()
    generator = await cast.participant("GEN", ["GENERATOR"], GENERATOR_WEB_SCOPES)
    context_id, _ = await cast.send(mc, lnsp)
    await wait_for_queue(lnsp, 1)
    page = await new_page(browser, server.base_url)

    # Signed out, a screen sends to sign-in and back; the environment is named on every screen.
    await page.goto("/app/archive")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await expect(page.get_by_test_id("environment")).to_have_text("Pre-production")
    assert await page.evaluate("document.body.className") == "env-preproduction"
    await page.get_by_label("Client id").fill(lnsp.credentials.client_id)
    await page.get_by_label("Client secret").fill("not the secret")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("Unknown client or wrong secret.")
    await screenshot(page, "sign-in")
    # Keyboard only: the client id keeps its value; Tab to the secret, Enter signs in.
    await page.get_by_label("Client id").focus()
    await page.keyboard.press("Tab")
    await page.keyboard.type(lnsp.credentials.client_secret)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Outbound archive")).to_be_visible()

    nav = page.get_by_role("navigation", name="Screens")
    await expect(nav.get_by_role("link")).to_have_text(
        ["Transaction log", "Outbound archive", "Flow control", "Participant status", "PQD queue", "Certificates"]
    )
    response = await page.goto("/app/recall")
    assert response is not None and response.status == 403
    # The web app's problem page, not the API's problem JSON: a person reads it.
    await expect(page.get_by_role("heading", name="Not available to you")).to_be_visible()
    await expect(page.locator("main")).to_contain_text("GR_RECALL")

    # Another LNSP's browser finds nothing of the first one's message.
    await page.get_by_role("button", name="Sign out").click()
    await sign_in(page, other, "/app/translog")
    await page.goto(f"/app/translog?messageContextId={context_id}")
    await expect(page.get_by_test_id("total")).to_have_text("0")
    for path in (f"/app/translog/{context_id}", f"/app/translog/{context_id}/payload", f"/app/archive/{context_id}"):
        response = await page.goto(path)
        assert response is not None and response.status == 404, path
        await expect(page.get_by_role("heading", name="Not found")).to_be_visible()

    # A form posted from another site with the session cookie changes nothing.
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    async with httpx.AsyncClient(base_url=server.base_url, cookies=cookies) as forged:
        refused = await forged.post(
            "/app/flowcontrol/pqd", data={"messageDelivery": "Stopped"}, headers={"Origin": "https://evil.example"}
        )
    # The web app's own answer to a foreign origin, plain text rather than a page or a problem.
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("text/plain"), refused.headers
    assert refused.text == "Refused: the request came from another site."
    await page.goto("/app/flowcontrol")
    await expect(page.get_by_test_id("switches-pqd")).to_have_text("2 of 2 manual switches left today")

    await page.get_by_role("button", name="Sign out").click()
    await sign_in(page, generator)
    await expect(page.get_by_role("navigation", name="Screens").get_by_role("link")).to_have_text(
        ["Transaction log", "Flow control", "Participant status", "Energy bids", "Recall plans"]
    )


async def test_the_live_socket_needs_a_session_the_entity_and_the_same_origin(
    server: ServerProcess, cast: Cast, browser: Browser
) -> None:
    lnsp = await cast.lnsp()
    no_events = await cast.participant("LNSP", ["LNSP"], [s for s in WEB_SCOPES if s != "EVENT_NOTIFY"])
    url = server.base_url.replace("http://", "ws://") + "/app/events"
    origin = server.base_url

    async def cookie_of(client: ParticipantClient) -> str:
        page = await signed_in(browser, server, client)
        [cookie] = [c for c in await page.context.cookies() if c["name"] == "idx_session"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        return f"idx_session={cookie['value']}"

    assert await close_code_of(url, {"Origin": origin}) == 4401
    assert await close_code_of(url, {"Origin": origin, "Cookie": "idx_session=forged"}) == 4401
    assert await close_code_of(url, {"Origin": origin, "Cookie": await cookie_of(no_events)}) == 4403
    session = await cookie_of(lnsp)
    assert await close_code_of(url, {"Origin": "https://evil.example", "Cookie": session}) == 4403
    # Signed in, from the same origin, the socket stays open and carries the participant's frames.
    async with websockets.connect(url, additional_headers={"Origin": origin, "Cookie": session}) as socket:
        mc = await cast.mc()
        context_id, _ = await cast.send(mc, lnsp)
        frame = json.loads(await asyncio.wait_for(socket.recv(), 10.0))
        assert (frame["eventType"], frame["messageContextId"]) == ("messageAvailable", context_id)
