"""SSM publications from outside: the operator publishes with `idx publish` through the signed POST, each generator
gets only its own DUIDs' rows, every GENERATOR and TNSP the region roll, and the schedules keep the latest run."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from cryptography.hazmat.primitives import serialization
from playwright.async_api import expect

from exchange.functions.ssm.sample import duid_body, duid_rows, region_body, roll_envelope
from simulators.client import ParticipantClient
from tests.conformance.market import Market, queue_items
from tests.e2e.browser import assert_accessible, launched, new_page, screenshot, sign_in
from tests.harness import ServerProcess
from tests.problems import assert_problem

pytestmark = pytest.mark.e2e

SCOPES = ["SSM_SCHEDULE", "TLS_CERTIFICATE_MANAGEMENT", "TRANSLOG_TRANSLOG"]
EARLY, LATE = "2026-10-28T04:00:00+10:00", "2026-10-28T04:10:00+10:00"
SCREEN_RUN = "2026-11-02T04:00:00+10:00"


async def operator_files(operator: ParticipantClient, directory: Path) -> tuple[Path, Path]:
    """The operator enrols, and keeps its key and certificate in files, as `idx publish` reads them."""
    await operator.enrol()
    assert operator.key is not None and operator.certificate is not None
    key, cert = directory / "operator.key", directory / "operator.pem"
    key.write_bytes(
        operator.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert.write_bytes(operator.certificate.public_bytes(serialization.Encoding.PEM))
    return key, cert


async def idx_publish(server: ServerProcess, files: tuple[Path, Path], resource: str, body: bytes, tmp: Path) -> str:
    roll = tmp / f"{resource}-roll.json"
    roll.write_bytes(body)
    idx = Path(sys.executable).parent / "idx"
    command = [str(idx), "publish", "ssm", resource, str(roll), "--url", server.base_url]
    command += ["--key", str(files[0]), "--cert", str(files[1]), "--data-dir", str(server.data_dir)]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def received_rows(client: ParticipantClient, resource: str, expected: int) -> list[dict[str, Any]]:
    """The rows of the rolls from the operator in the client's ssm queue of `resource`, once `expected` arrived."""
    items = await queue_items(client, "ssm", resource, "OPERATOR", expected)
    assert len(items) == expected, items
    rows = []
    for item in items:
        fetched = await client.fetch(item["messageContextId"], bf="ssm", resource=resource)
        assert fetched.status_code == 200, fetched.text
        rows += [row for t in json.loads(fetched.content)["data"]["transactions"] for row in t["rows"]]
    return rows


async def schedule(client: ParticipantClient, kind: str, **params: str) -> Any:
    return await client.http.get(f"/ssm/v1/schedules/{kind}", params=params, headers=client.headers())


async def test_the_operator_publishes_rolls_that_reach_only_their_recipients(market: Market, tmp_path: Path) -> None:
    """A DUID roll of two owners' DUIDs splits into one message per owner; a region roll to `*` reaches every
    GENERATOR and TNSP (resolved on acceptance: a generator registered later gets nothing); a roll naming another
    owner's DUID is refused naming the row; the schedules answer the latest run per interval, own DUIDs only."""
    gen_a = await market.participant("GA", ["GENERATOR"], SCOPES)
    gen_b = await market.participant("GB", ["GENERATOR"], SCOPES)
    tnsp = await market.participant("TN", ["TNSP"], SCOPES)
    a1, a2, b1 = await market.duid(gen_a), await market.duid(gen_a), await market.duid(gen_b)
    files = await operator_files(market.operator, tmp_path)

    printed = await idx_publish(
        market.server, files, "duid", duid_body("OPERATOR", [], [a1, b1, a2], run=EARLY), tmp_path
    )
    assert sorted(line.split()[-1] for line in printed.splitlines()) == sorted(
        [gen_a.participant_id, gen_b.participant_id]
    )
    printed = await idx_publish(market.server, files, "region", region_body("OPERATOR", ["*"], run=EARLY), tmp_path)
    assert printed.startswith("200 ")

    assert {row["duid"] for row in await received_rows(gen_a, "duid", 1)} == {a1, a2}
    assert {row["duid"] for row in await received_rows(gen_b, "duid", 1)} == {b1}
    for recipient in (gen_a, gen_b, tnsp):
        rows = await received_rows(recipient, "region", 1)
        assert {row["regionId"] for row in rows} == {"NSW1", "QLD1", "SA1", "TAS1", "VIC1"}
    late_comer = await market.participant("GL", ["GENERATOR"], SCOPES)
    assert await queue_items(late_comer, "ssm", "region", "OPERATOR", 1, within=2.0) == []

    # Row 3 of a roll for generator A holds generator B's DUID.
    rows = duid_rows([a1], run=LATE, intervals=4)
    rows[3]["duid"] = b1
    body = msgspec.json.encode(roll_envelope("OPERATOR", [gen_a.participant_id], "duid", rows, run=LATE))
    refused = await market.operator.submit(body, bf="ssm", resource="duid")
    problem = assert_problem(refused, 422)
    assert [error["field"] for error in problem["errors"]] == ["data.transactions[0].rows[3].duid"]

    assert_problem(await schedule(gen_a, "duid", duid=b1), 404)
    later = duid_body("OPERATOR", [gen_a.participant_id], [a1], run=LATE, seed=7)
    assert (await market.operator.submit(later, bf="ssm", resource="duid")).status_code == 200
    answer = await schedule(gen_a, "duid", duid=a1, fromDateTime="2026-10-28T04:00:00+10:00")
    assert answer.status_code == 200, answer.text
    runs = [(row["intervalDateTime"][11:16], row["runDateTime"]) for row in answer.json()["data"]]
    assert runs[:3] == [("04:00", EARLY), ("04:05", EARLY), ("04:10", LATE)]
    assert len(runs) == 14 and all(run == LATE for _, run in runs[2:])
    regions = await schedule(tnsp, "region", regionId="SA1", toDateTime="2026-10-28T04:55:00+10:00")
    assert [row["regionId"] for row in regions.json()["data"]] == ["SA1"] * 12


async def test_idx_simulate_runs_the_ssm_scenario(server: ServerProcess) -> None:
    """`idx simulate ssm-schedules`: three simulated runs; own DUIDs' rows only, region rows for all, latest wins."""
    idx = Path(sys.executable).parent / "idx"
    command = [str(idx), "simulate", "ssm-schedules", "--url", server.base_url, "--data-dir", str(server.data_dir)]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed, 0 failed" in done.stdout, done.stdout


async def test_the_schedule_screens_chart_and_tabulate_the_latest_run(market: Market, tmp_path: Path) -> None:
    """Signed in to the web app, a generator sees its DUID's schedule and the region schedule: an SVG line per series,
    a legend and a table, filtered by dates and region; another generator's DUID is not found (404)."""
    gen = await market.participant("GW", ["GENERATOR"], SCOPES)
    other = await market.participant("GO", ["GENERATOR"], SCOPES)
    duid, others_duid = await market.duid(gen), await market.duid(other)
    await market.operator.enrol()
    for resource, body in (
        ("duid", duid_body("OPERATOR", [gen.participant_id], [duid], run=SCREEN_RUN)),
        ("region", region_body("OPERATOR", ["*"], run=SCREEN_RUN)),
    ):
        assert (await market.operator.submit(body, bf="ssm", resource=resource)).status_code == 200
    async with httpx.AsyncClient(base_url=gen.base_url) as browser:
        form = {"client_id": gen.credentials.client_id, "client_secret": gen.credentials.client_secret}
        assert (await browser.post("/app/sign-in", data=form)).status_code == 303

        page = await browser.get("/app/ssm/duid", params={"duid": duid})
        assert page.status_code == 200, page.text
        assert f'data-series="{duid}"' in page.text and 'data-testid="legend"' in page.text
        assert page.text.count("<td>ENABLED</td>") + page.text.count("<td>NOT_ENABLED</td>") == 12
        window = await browser.get("/app/ssm/duid", params={"duid": duid, "fromDateTime": "2026-11-02T04:30"})
        assert window.text.count("<td>ENABLED</td>") + window.text.count("<td>NOT_ENABLED</td>") == 6

        hidden = await browser.get("/app/ssm/duid", params={"duid": others_duid})
        assert hidden.status_code == 404 and 'data-series="' not in hidden.text

        # Other tests of the module publish other days: this day's intervals are this test's.
        day = {"fromDateTime": "2026-11-02T00:00", "toDateTime": "2026-11-02T23:55"}
        region = await browser.get("/app/ssm/region", params={"regionId": "SA1", **day})
        assert region.status_code == 200, region.text
        assert 'data-series="SA1 requirement"' in region.text and 'data-series="SA1 enabled"' in region.text
        assert region.text.count("<td>SA1</td>") == 12 and "<td>NSW1</td>" not in region.text
        navigation = await browser.get("/app/ssm/region")
        assert "DUID schedule" in navigation.text and "Region schedule" in navigation.text


async def test_the_schedule_screens_pass_axe_in_a_real_browser(market: Market) -> None:
    """A generator opens the DUID and Region schedule screens in Chromium: the chart, legend and table are there,
    and axe finds no serious or critical violation on either."""
    gen = await market.participant("GA", ["GENERATOR"], SCOPES)
    duid = await market.duid(gen)
    await market.operator.enrol()
    run = "2026-11-03T04:00:00+10:00"  # a day of its own: other tests of the module publish other days
    for resource, body in (
        ("duid", duid_body("OPERATOR", [gen.participant_id], [duid], run=run)),
        ("region", region_body("OPERATOR", ["*"], run=run)),
    ):
        assert (await market.operator.submit(body, bf="ssm", resource=resource)).status_code == 200
    async with launched() as browser:
        page = await new_page(browser, market.server.base_url)
        await sign_in(page, gen)
        await page.goto(f"/app/ssm/duid?duid={duid}&fromDateTime=2026-11-03T00:00")
        await expect(page.locator(f'[data-series="{duid}"]').first).to_be_visible()
        await expect(page.get_by_test_id("legend")).to_be_visible()
        await assert_accessible(page)
        await screenshot(page, "ssm-duid")
        await page.goto("/app/ssm/region?regionId=SA1&fromDateTime=2026-11-03T00:00&toDateTime=2026-11-03T23:55")
        await expect(page.locator('[data-series="SA1 requirement"]').first).to_be_visible()
        await assert_accessible(page)
        await screenshot(page, "ssm-region")
