"""WEMS prudential data from outside: the operator publishes through the signed POST, and each market
participant's web services answer with its own figures, as summary CSV and detailed zip too."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from exchange.functions.prud.sample import credit_body, daily_body
from simulators.client import ParticipantClient
from tests.conformance.market import Market
from tests.e2e.browser import assert_accessible, go_to_screen, launched, new_page, screenshot, sign_in
from tests.harness import ServerProcess
from tests.problems import assert_problem

pytestmark = pytest.mark.e2e

BASE = "/prudential/api/v1/prudential"


@pytest.fixture
async def market(market: Market) -> Market:
    """The module's market (conftest), its operator enrolled: it signs its publications like any sender."""
    await market.operator.enrol()
    return market


async def publish(operator: ParticipantClient, body: bytes, resource: str = "daily") -> Any:
    return await operator.submit(body, bf="prud", resource=resource)


def parameters_of(body: bytes) -> dict[str, Any]:
    parameters: dict[str, Any] = json.loads(body)["data"]["transactions"][0]["parameters"]
    return parameters


async def latest(client: ParticipantClient) -> Any:
    return await client.http.get(f"{BASE}/summary/latest", headers=client.headers())


async def test_two_participants_each_see_only_their_own_figures(market: Market) -> None:
    """Daily figures for two MPs: each one's summary/latest shows its own outstanding amount and trading margin."""
    first = await market.participant("MP", ["MP"], ["PRUDENTIAL"])
    second = await market.participant("MP", ["MP"], ["PRUDENTIAL"])
    bodies = {}
    for client, seed in ((first, 1), (second, 2)):
        bodies[client.participant_id] = daily_body("OPERATOR", [client.participant_id], seed=seed)
        response = await publish(market.operator, bodies[client.participant_id])
        assert response.status_code == 200, response.text
    for client, other in ((first, second), (second, first)):
        response = await latest(client)
        assert response.status_code == 200, response.text
        shown = response.json()["data"]
        own, others = parameters_of(bodies[client.participant_id]), parameters_of(bodies[other.participant_id])
        assert shown["participantId"] == client.participant_id
        assert Decimal(str(shown["outstandingAmount"])) == Decimal(str(own["outstandingAmount"]))
        assert Decimal(str(shown["tradingMargin"])) == Decimal(str(own["tradingMargin"]))
        assert Decimal(str(shown["outstandingAmount"])) != Decimal(str(others["outstandingAmount"]))
        # Naming the other participant is acting for it: refused.
        asked = await client.http.get(
            f"{BASE}/summary/latest", params={"participantId": other.participant_id}, headers=client.headers()
        )
        assert_problem(asked, 403)


async def test_a_trading_margin_that_is_not_limit_minus_outstanding_gets_422_naming_it(market: Market) -> None:
    """tradingMargin one cent off tradingLimit - outstandingAmount is refused, and nothing reaches the participant."""
    participant = await market.participant("MP", ["MP"], ["PRUDENTIAL"])
    envelope = json.loads(daily_body("OPERATOR", [participant.participant_id]))
    parameters = envelope["data"]["transactions"][0]["parameters"]
    parameters["tradingMargin"] = float(Decimal(str(parameters["tradingMargin"])) - Decimal("0.01"))
    response = await publish(market.operator, json.dumps(envelope).encode())
    problem = assert_problem(response, 422)
    assert [e["field"] for e in problem["errors"]] == ["data.transactions[0].parameters.tradingMargin"]
    assert_problem(await latest(participant), 404)


async def test_the_summary_csv_and_the_detailed_zip_open_with_the_standard_library(market: Market) -> None:
    """Accept text/csv: the summary file; application/zip: one CSV per market and trading day; else 406."""
    participant = await market.participant("MP", ["MP"], ["PRUDENTIAL"])
    body = daily_body("OPERATOR", [participant.participant_id], as_at_date="2026-08-04", exposed_days=2)
    assert (await publish(market.operator, body)).status_code == 200
    query = {"asAtDate": "2026-08-04", "calculationType": "Current"}

    summary = await participant.http.get(BASE, params=query, headers=participant.headers(Accept="text/csv"))
    assert summary.status_code == 200, summary.text
    assert summary.headers["content-type"].startswith("text/csv")
    assert f'filename="{participant.participant_id}_20260804_CURRENT_' in summary.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(summary.text)))
    assert {row["market"] for row in rows} == {"STEM", "Non-STEM"}
    own = parameters_of(body)
    assert all(Decimal(row["tradingMargin"]) == Decimal(str(own["tradingMargin"])) for row in rows)

    detailed = await participant.http.get(BASE, params=query, headers=participant.headers(Accept="application/zip"))
    assert detailed.status_code == 200, detailed.text
    archive = zipfile.ZipFile(io.BytesIO(detailed.content))
    stem = f"{participant.participant_id}_20260804_CURRENT"
    assert sorted(archive.namelist()) == sorted(
        f"{stem}_{market}_{day}.csv" for market in ("STEM", "NONSTEM") for day in ("20260802", "20260803")
    )
    for name in archive.namelist():
        values = list(csv.DictReader(io.StringIO(archive.read(name).decode())))
        assert values and {row["tradingDate"] for row in values} == {f"{name[-12:-8]}-{name[-8:-6]}-{name[-6:-4]}"}

    refused = await participant.http.get(BASE, params=query, headers=participant.headers(Accept="application/xml"))
    assert_problem(refused, 406)


async def download(page: Page, button: str) -> tuple[str, bytes]:
    async with page.expect_download() as info:
        await page.get_by_role("button", name=button).click()
    done = await info.value
    return done.suggested_filename, await asyncio.to_thread(Path(str(await done.path())).read_bytes)


async def test_the_prudential_screens_show_the_participants_figures_chart_and_files(market: Market) -> None:
    """Prudential monitoring: latest parameters, the securities chart over the as-at dates, the settlement
    statement and the three downloads; Credit support: instruments and limits, current and historic."""
    participant = await market.participant("MP", ["MP"], ["PRUDENTIAL"])
    whom = [participant.participant_id]
    for day in ("2026-07-01", "2026-07-02", "2026-07-03"):
        assert (await publish(market.operator, daily_body("OPERATOR", whom, as_at_date=day))).status_code == 200
    latest_body = daily_body("OPERATOR", whom, as_at_date="2026-07-03")
    assert (await publish(market.operator, credit_body("OPERATOR", whom), "credit")).status_code == 200
    async with launched() as browser:
        page = await new_page(browser, market.server.base_url)
        await sign_in(page, participant)
        await go_to_screen(page, "Prudential monitoring")
        margin = Decimal(str(parameters_of(latest_body)["tradingMargin"]))
        await expect(page.locator('[data-name="tradingMargin"]')).to_have_text(f"${margin:,.2f}")
        chart = page.get_by_test_id("securities-chart")
        await expect(chart.locator("polyline")).to_have_count(4)
        await expect(page.get_by_test_id("securities").locator("tbody tr")).to_have_count(3)
        await expect(page.get_by_test_id("statement").locator("tbody tr")).to_have_count(2)
        await assert_accessible(page)
        await screenshot(page, "prudential-monitoring")
        name, content = await download(page, "Summary file")
        assert name.startswith(f"{participant.participant_id}_20260703_CURRENT_") and name.endswith(".csv")
        assert list(csv.DictReader(io.StringIO(content.decode())))
        name, content = await download(page, "Detailed file")
        assert name.endswith(".zip") and zipfile.ZipFile(io.BytesIO(content)).namelist()
        await page.get_by_label("Forecast").check()
        await page.get_by_role("button", name="Show").click()
        await expect(page.get_by_test_id("no-figures")).to_be_visible()

        await go_to_screen(page, "Credit support")
        await expect(page.get_by_test_id("current-instruments").locator("tbody tr")).to_have_count(2)
        await expect(page.get_by_test_id("historic-instruments").locator("tbody tr")).to_have_count(1)
        await expect(page.get_by_test_id("credit-limits").locator("tbody tr")).to_have_count(2)
        await assert_accessible(page)
        await screenshot(page, "credit-support")


def test_the_prudential_scenario_of_idx_simulate_passes(server: ServerProcess) -> None:
    """`idx simulate prudential`: two simulated days of noon and hourly figures; each participant sees its own."""
    idx = Path(sys.executable).parent / "idx"
    done = subprocess.run(
        [str(idx), "simulate", "prudential", "--url", server.base_url, "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "passed" in done.stdout and "each participant sees only its own latest figures" in done.stdout
