"""The web app's energy bids, operator screens and recall stage comments in headless Chromium.

One exchange with the test clock (`--test-clock`) for the module: the DUID transfer journey moves it to the day of
the transfer, so it runs last and nothing else here depends on the day.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from exchange.domain.markettime import MARKET_TIME, market_day
from exchange.functions.recall.sample import sample_plan
from simulators.client import ParticipantClient, register
from tests.e2e.browser import (
    GENERATOR_WEB_SCOPES,
    assert_accessible,
    go_to_screen,
    screenshot,
    sign_in,
    signed_in,
    web_exchange,
)
from tests.harness import ServerProcess

pytestmark = pytest.mark.e2e
RECALL = "/ws/GeneratorRecall/1.0"


server = web_exchange("web-admin", "--test-clock")


@pytest.fixture
async def generators(operator: ParticipantClient, server: ServerProcess) -> AsyncIterator[list[ParticipantClient]]:
    """Two generators whose clients hold the generators' screens."""
    made = []
    for _ in range(2):
        participant_id = f"GEN{secrets.token_hex(3).upper()}"
        credentials = await register(operator, participant_id, ["GENERATOR"], GENERATOR_WEB_SCOPES)
        client = ParticipantClient(server.base_url, credentials)
        await client.login()
        made.append(client)
    yield made
    for client in made:
        await client.close()


async def register_duid(operator: ParticipantClient, owner: ParticipantClient) -> str:
    duid = f"D{secrets.token_hex(3).upper()}"
    body = {"duid": duid, "participantId": owner.participant_id, "stationId": "STATION1", "maxCapacityMW": 400.0}
    response = await operator.http.post("/admin/v1/duids", json=body, headers=operator.headers())
    assert response.status_code == 201, response.text
    return duid


async def fill_first_period(page: Page) -> None:
    await page.get_by_label("Reference").fill("WEB-1")
    for band in range(10):
        await page.get_by_label(f"Price of band {band + 1}", exact=True).fill(str(band * 10))
    await page.get_by_label("Period 1 Max avail (MW)").fill("100")
    for band in range(10):
        await page.get_by_label(f"Period 1 Band {band + 1} (MW)", exact=True).fill("10")
    await page.get_by_label("Period 1 Ramp up (MW/min)").fill("5")
    await page.get_by_label("Period 1 Ramp down (MW/min)").fill("5")


async def test_a_generator_bids_with_a_blank_and_a_numeric_recall_period_and_a_text_one_is_refused_at_its_cell(
    server: ServerProcess, operator: ParticipantClient, generators: list[ParticipantClient], browser: Browser
) -> None:
    """Blank is stored as 24000 and 5 as 5; a rebid with "soon" in period 3 is refused at that cell."""
    generator = generators[0]
    duid = await register_duid(operator, generator)
    page = await signed_in(browser, server, generator)
    await go_to_screen(page, "Energy bids")
    await page.get_by_label("DUID").fill(duid)
    await page.get_by_label("Trading day").fill("2026-07-01")
    await page.get_by_role("button", name="Bid or rebid").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"New bid {duid} for 2026-07-01")
    await assert_accessible(page)

    await fill_first_period(page)
    await page.get_by_role("button", name="Copy period 1 into blank cells").click()
    # The grid's 288 rows of inputs take a while to lay out on a loaded machine.
    await expect(page.get_by_label("Period 288 Max avail (MW)")).to_have_value("100", timeout=30_000)
    await expect(page.get_by_label("Period 1 Recall period (h)")).to_have_value("")
    await page.get_by_label("Period 2 Recall period (h)").fill("5")
    await page.get_by_role("button", name="Submit bid").click()

    await expect(page.get_by_test_id("flash")).to_contain_text("Bid version 1")
    await expect(page.get_by_test_id("recall-1")).to_have_text("24000")
    await expect(page.get_by_test_id("recall-2")).to_have_text("5")
    await screenshot(page, "bids")
    await assert_accessible(page)
    stored = await generator.http.get(
        "/bids/v1/bids", params={"duid": duid, "tradingDate": "2026-07-01"}, headers=generator.headers()
    )
    periods = stored.json()["data"]["latest"]["energyPeriods"]
    assert [p["recallPeriod"] for p in periods[:3]] == [24000, 5, 24000]

    await page.get_by_role("link", name="Rebid").click()
    await expect(page.get_by_label("Period 2 Recall period (h)")).to_have_value("5")
    await page.get_by_label("Reference").fill("WEB-2")
    await page.get_by_label("Period 3 Recall period (h)").fill("soon")
    await page.get_by_role("button", name="Submit bid").click()
    cell = page.get_by_label("Period 3 Recall period (h)")
    await expect(cell).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("[id='p2.recallPeriod-error']")).to_have_text(
        "period 3: recallPeriod is the string 'soon', not a number"
    )
    await expect(cell).to_have_value("soon")
    await screenshot(page, "bid-grid-error")
    await assert_accessible(page)
    await go_to_screen(page, "Energy bids")
    await page.goto(f"/app/bids?duid={duid}&tradingDate=2026-07-01")
    await expect(page.get_by_test_id("version")).to_have_text("1")
    await expect(page.get_by_test_id("history").locator("tbody tr")).to_have_count(1)


async def test_the_operator_registers_a_participant_gives_it_a_client_and_suspends_it(
    server: ServerProcess, operator: ParticipantClient, browser: Browser
) -> None:
    """The secret is shown once and works; a refused role is named; suspension shows and is undone."""
    participant_id = f"LN{secrets.token_hex(3).upper()}"
    page = await signed_in(browser, server, operator)
    await go_to_screen(page, "Administration")
    await page.get_by_label("Participant id").fill(participant_id)
    await page.get_by_label("Name").fill("Network Co")
    await page.get_by_role("button", name="Register participant").click()
    await expect(page.get_by_role("alert")).to_contain_text("roles")
    await assert_accessible(page)

    await page.get_by_label("LNSP").check()
    await page.get_by_role("button", name="Register participant").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Participant {participant_id}")
    await expect(page.get_by_test_id("status")).to_have_text("Active")
    await assert_accessible(page)

    await page.get_by_label("PQD_BPQD").check()
    await page.get_by_role("button", name="Create client").click()
    client_id = await page.get_by_test_id("client-id").text_content()
    secret = await page.get_by_test_id("client-secret").text_content()
    assert client_id and secret
    await screenshot(page, "admin-client-secret")
    await assert_accessible(page)
    token = await operator.http.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )
    assert token.status_code == 200, token.text
    # Shown once: the participant's page shows the client, never its secret.
    await page.goto(f"/app/admin/participants/{participant_id}")
    await expect(page.locator(f"[data-client='{client_id}']")).to_contain_text("active")
    await expect(page.get_by_test_id("client-secret")).to_have_count(0)
    await go_to_screen(page, "Administration")
    await expect(page.get_by_role("link", name=participant_id)).to_be_visible()
    await screenshot(page, "admin-participants")
    await assert_accessible(page)
    await page.get_by_role("link", name=participant_id).click()

    await page.get_by_label("Low").fill("10")
    await page.get_by_label("Warn").fill("5")
    await page.get_by_label("High").fill("30")
    await page.get_by_role("button", name="Set watermarks").click()
    await expect(page.get_by_role("alert")).to_contain_text("low < warn < high")
    await page.get_by_label("Warn").fill("20")
    await page.get_by_role("button", name="Set watermarks").click()
    await expect(page.get_by_test_id("flash")).to_contain_text("10, 20, 30")
    await screenshot(page, "admin-participant")
    await assert_accessible(page)

    await page.get_by_label("Reason").fill("audit")
    await page.get_by_role("button", name=f"Suspend {participant_id}").click()
    await expect(page.get_by_test_id("status")).to_have_text("Suspended (audit)")
    await page.get_by_role("button", name=f"Reinstate {participant_id}").click()
    await expect(page.get_by_test_id("status")).to_have_text("Active")

    await page.get_by_role("link", name=f"Revoke {client_id}").click()
    await assert_accessible(page)
    await page.get_by_role("button", name="Yes, revoke the client").click()
    await expect(page.locator(f"[data-client='{client_id}']")).to_contain_text("revoked")
    refused = await operator.http.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )
    assert refused.status_code in (400, 401), refused.text


async def test_the_operator_records_an_nmi_and_its_meter_churn_and_announces_an_outage(
    server: ServerProcess, operator: ParticipantClient, browser: Browser
) -> None:
    """Two records of one NMI show as its history; a bad NMI is named at its field."""
    ids = {}
    for role in ("MC", "MDP", "LNSP"):
        ids[role] = f"{role}{secrets.token_hex(3).upper()}"
        await register(operator, ids[role], [role], ["PQD_BPQD"])
    nmi = f"60{secrets.token_hex(4).upper()}"
    page = await signed_in(browser, server, operator, "/app/admin/nmis")
    form = page.locator("form[action='/app/admin/nmis'][method='post']")
    await form.get_by_label("NMI").fill("short")
    for role, label in (("MC", "MC"), ("MDP", "MDP"), ("LNSP", "LNSP")):
        await form.get_by_label(label, exact=True).fill(ids[role])
    await form.get_by_label("From date").fill("2026-01-01")
    await form.get_by_role("button", name="Add record").click()
    await expect(page.locator("#nmi-error")).to_contain_text("must match")
    await assert_accessible(page)

    await form.get_by_label("NMI").fill(nmi)
    await form.get_by_role("button", name="Add record").click()
    await expect(page.get_by_test_id("nmi-periods").locator("tbody tr")).to_have_count(1)
    await form.get_by_label("NMI").fill(nmi)
    for role in ("MC", "MDP", "LNSP"):
        await form.get_by_label(role, exact=True).fill(ids[role])
    await form.get_by_label("From date").fill("2026-07-02")
    await form.get_by_role("button", name="Add record").click()
    await expect(page.get_by_test_id("nmi-periods").locator("tbody td:first-child")).to_have_text(
        ["2026-01-01", "2026-07-02"]
    )
    await screenshot(page, "admin-nmis")
    await assert_accessible(page)

    await page.get_by_role("navigation", name="Administration").get_by_role("link", name="Outage announcement").click()
    await assert_accessible(page)
    await page.get_by_label("What participants are told").fill("Maintenance at 22:00 AEST")
    await page.get_by_role("button", name="Announce the outage").click()
    await expect(page.get_by_test_id("flash")).to_contain_text("Outage announced")
    await screenshot(page, "admin-outage")
    await assert_accessible(page)


async def submit_plan(generator: ParticipantClient, duid: str, plan_id: str, start: str) -> dict[str, Any]:
    body = sample_plan(generator.participant_id, duid, plan_id=plan_id, start=start)
    response = await generator.http.post(f"{RECALL}/submitRecallPlan", json=body, headers=generator.headers())
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_the_operator_transfers_a_duid_and_on_that_day_only_the_new_owner_submits_recall_plans(
    server: ServerProcess, operator: ParticipantClient, generators: list[ParticipantClient], browser: Browser
) -> None:
    """Transferred from two days ahead; before it the old owner's plans are accepted, from it the new owner's,
    entered in the browser with stage comments (61 characters refused at the cell, 60 kept)."""
    old, new = generators
    duid = await register_duid(operator, old)
    transfer_day = market_day(datetime.now(UTC)) + timedelta(days=2)
    page = await signed_in(browser, server, operator, "/app/admin/duids")
    await screenshot(page, "admin-duids")
    await assert_accessible(page)
    await page.get_by_role("link", name=duid).click()
    await page.get_by_label("New owner").fill(new.participant_id)
    await page.get_by_label("From date").fill(transfer_day.isoformat())
    await page.get_by_role("button", name="Transfer DUID").click()
    await expect(page.get_by_test_id("flash")).to_contain_text(f"passes to {new.participant_id}")
    await expect(page.get_by_test_id("owners").locator("tbody tr").last).to_have_text(
        f"{transfer_day.isoformat()}{new.participant_id}"
    )
    await screenshot(page, "admin-duid")
    await assert_accessible(page)

    assert (await submit_plan(old, duid, "BEFORE", "2026-07-01"))["SuccessFlag"] is True
    assert (await submit_plan(new, duid, "EARLY", "2026-08-01"))["SuccessFlag"] is False

    # To the first minute of the transfer day, market time; the tokens expire on the way.
    midnight = datetime.combine(transfer_day, time(0, 1), MARKET_TIME)
    seconds = (midnight - datetime.now(UTC)).total_seconds()
    moved = await operator.http.post("/admin/v1/clock", json={"advanceSeconds": seconds}, headers=operator.headers())
    assert moved.status_code == 200, moved.text
    for client in (operator, old, new):
        await client.login()

    await sign_in(page, new, "/app/recall/new")
    await page.get_by_label("Recall plan id").fill("AFTER")
    await page.get_by_label("DUID").fill(duid)
    await page.locator("#e0\\.StartDate").fill("2026-08-01")
    await page.locator("#e0\\.EndDate").fill("2026-08-07")
    await page.locator("#e0\\.Stage1RecallMinutesStart").fill("240")
    await page.locator("#e0\\.Stage1RecallMinutesEnd").fill("240")
    await page.locator("#e0\\.Stage1MW").fill("100")
    await page.locator("#e0\\.Stage1Comment").fill("c" * 61)
    await page.get_by_role("button", name="Save changes").last.click()
    await expect(page.locator("#e0\\.Stage1Comment-error")).to_have_text(
        "Stage1Comment must be at most 60 characters, not 61"
    )
    await page.locator("#e0\\.Stage1Comment").fill("c" * 60)
    await page.get_by_role("button", name="Save changes").last.click()
    await expect(page.get_by_test_id("flash")).to_contain_text("Recall plan AFTER created")
    await expect(page.get_by_test_id("entries")).to_contain_text("c" * 60)
    await assert_accessible(page)

    refused = await submit_plan(old, duid, "LATE", "2026-09-01")
    assert refused["SuccessFlag"] is False
    assert refused["Errors"][0]["ErrorMessage"] == f"DUID {duid} is not registered to {old.participant_id}"
