"""The queue and certificates screens in headless Chromium, and axe-core over every screen of the web app.

Each test starts from a signed-out browser against one exchange (started with `--environment Pre-production`) and
uses only what a person sees; what the browser did is then checked through the API.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from playwright.async_api import Browser, expect

from simulators.client import ParticipantClient
from tests.e2e.browser import (
    GENERATOR_WEB_SCOPES,
    WEB_SCOPES,
    Cast,
    assert_accessible,
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
from tests.e2e.test_web_app import fill_entry
from tests.harness import ServerProcess
from tests.openssl import openssl

pytestmark = pytest.mark.e2e


server = web_exchange("web-queue-certs")


def openssl_key_and_csr(folder: Path, common_name: str) -> tuple[Path, Path]:
    """A new RSA key and its CSR, made the way the certificates screen tells people to."""
    key, csr = folder / f"{common_name}.key", folder / f"{common_name}.csr"
    made = openssl(
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={common_name}", "-keyout", key, "-out", csr
    )
    assert made.returncode == 0, made.stderr
    return key, csr


async def test_an_lnsp_sees_a_message_arrive_downloads_it_and_deletes_it(
    server: ServerProcess, cast: Cast, browser: Browser
) -> None:
    mc, lnsp, page = await cast.lnsp_signed_in(browser)
    await go_to_screen(page, "PQD queue")
    await expect(page.get_by_test_id("total")).to_have_text("0")
    await live(page)
    await page.evaluate("window.sameDocument = true")

    context_id, body = await cast.send(mc, lnsp)

    # The row arrives through the live notification, without a reload.
    await expect(page.get_by_role("link", name=context_id, exact=True)).to_be_visible()
    await expect(page.get_by_test_id("total")).to_have_text("1")
    assert await page.evaluate("window.sameDocument === true"), "the page was reloaded"
    await screenshot(page, "queue")
    await assert_accessible(page)

    assert await downloaded(page, f"Download {context_id}", exact=True) == body
    # The download carries the hub's re-signature of the payload, as the API hands it out.
    answer = await page.request.get(f"/app/queue/pqd/bpqd/message/{context_id}/payload")
    assert answer.headers["x-signature"].startswith(("RSA-SHA256;", "ECDSA-SHA256;")), answer.headers

    await page.get_by_role("link", name=context_id, exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(context_id)
    await expect(page.locator("main")).to_contain_text(mc.participant_id)
    await screenshot(page, "queue-message")
    await assert_accessible(page)

    await page.get_by_role("link", name="Delete from the queue…").click()
    await expect(page.get_by_test_id("chosen")).to_have_text(context_id)
    await screenshot(page, "queue-delete")
    await assert_accessible(page)
    await page.get_by_role("button", name="Yes, delete it").click()
    await expect(page.get_by_test_id("flash")).to_have_text(f"Deleted {context_id}.")
    await expect(page.get_by_test_id("total")).to_have_text("0")
    assert await queued_ids(lnsp) == [], "the message is gone from the API's list too"

    # The flow-control chart draws the message's stay in the queue: one in it, then none.
    await go_to_screen(page, "Flow control")
    await page.get_by_role("link", name="Queue depth of pqd over the last hours (chart)").click()
    await expect(page.get_by_role("img", name="Queue depth of pqd, last 6 hours")).to_be_visible()
    await page.get_by_text("The numbers as a table").click()
    depths = page.get_by_test_id("chart-table").locator("tbody tr td:nth-child(2)")
    await expect(depths).to_have_text(["0", "1", "0"])
    await screenshot(page, "flowcontrol-chart")
    await assert_accessible(page)

    # The transaction log's chart counts it in this hour, as removed.
    await page.goto("/app/translog/chart")
    await page.get_by_text("The numbers as a table").click()
    table = page.get_by_test_id("chart-table")
    await expect(table.locator("thead th")).to_have_text(["Hour", "removed", "All"])
    await expect(table.locator("tbody tr").last.locator("td").last).to_have_text("1")
    await screenshot(page, "translog-chart")


async def test_an_lnsp_deletes_a_selection_with_the_keyboard_and_may_change_its_mind(
    server: ServerProcess, cast: Cast, browser: Browser
) -> None:
    mc, lnsp = await cast.mc(), await cast.lnsp()
    sent = [(await cast.send(mc, lnsp, seed=seed))[0] for seed in range(3)]
    await wait_for_queue(lnsp, 3)
    page = await signed_in(browser, server, lnsp, "/app/queue/pqd")
    await expect(page.get_by_test_id("total")).to_have_text("3")

    # Space ticks a box; the confirmation lists what would go, and "No" leaves the queue as it was.
    for context_id in sent[:2]:
        await page.get_by_label(f"Choose {context_id}").focus()
        await page.keyboard.press("Space")
    await page.get_by_role("button", name="Delete the chosen messages…").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("chosen").locator("li")).to_have_text(sent[:2])
    await page.get_by_role("link", name="No, keep them").click()
    await expect(page.get_by_test_id("total")).to_have_text("3")

    for context_id in sent[:2]:
        await page.get_by_label(f"Choose {context_id}").check()
    await page.get_by_role("button", name="Delete the chosen messages…").click()
    await page.get_by_role("button", name="Yes, delete them").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("flash")).to_have_text("Deleted 2 messages.")
    assert await queued_ids(lnsp) == [sent[2]]


async def test_an_mc_issues_a_certificate_from_an_openssl_csr_nominates_it_and_signs_with_it(
    server: ServerProcess, cast: Cast, browser: Browser, tmp_path: Path
) -> None:
    mc = await cast.participant("MC", ["MC"], WEB_SCOPES)
    lnsp = await cast.lnsp()
    key_path, csr_path = openssl_key_and_csr(tmp_path, f"{mc.participant_id}-signing")
    page = await signed_in(browser, server, mc)
    await go_to_screen(page, "Certificates")
    await page.get_by_text("How to make a key and a CSR with openssl").click()
    await expect(page.locator("main")).to_contain_text(f'-subj "/CN={mc.participant_id}-signing"')
    await assert_accessible(page)

    await page.get_by_label("Certificate signing request (PEM)").fill(csr_path.read_text())
    await page.get_by_role("button", name="Issue certificate").click()
    await expect(page.get_by_test_id("flash")).to_contain_text("issued")
    serial = (await page.get_by_role("heading", level=1).locator("code").text_content()) or ""
    await expect(page.get_by_test_id("status")).to_have_text("active")
    # A new certificate is three years from expiry: the Renew button is off and says when it opens.
    await expect(page.get_by_role("button", name="Renew")).to_be_disabled()
    await expect(page.get_by_test_id("renew-why")).to_contain_text("Renewal opens 90 days before expiry")
    await screenshot(page, "certificate")
    await assert_accessible(page)
    certificate_pem = await downloaded(page, "Download certificate", exact=True)
    chain = await downloaded(page, "Download chain", exact=True)
    assert chain.startswith(certificate_pem.strip()) and chain.count(b"BEGIN CERTIFICATE") == 2

    await page.get_by_role("link", name="← Certificates").click()
    await page.get_by_label("Primary").select_option(serial)
    await page.get_by_role("button", name="Save nominations").click()
    await expect(page.get_by_test_id("flash")).to_have_text(f"Primary {serial}, no secondary.")
    await expect(page.locator(f'tr[data-serial="{serial}"]')).to_contain_text("primary")
    await screenshot(page, "certificates")

    # A message signed with the key openssl made and the certificate the screen issued is accepted.
    mc.key = load_pem_private_key(key_path.read_bytes(), password=None)  # type: ignore[assignment]
    mc.certificate = x509.load_pem_x509_certificate(certificate_pem)
    context_id, _ = await cast.send(mc, lnsp)
    assert await wait_for_queue(lnsp, 1) == [context_id]

    # Reissue from an uploaded CSR file, then revoke the reissued certificate with a reason, once confirmed.
    _, second_csr = openssl_key_and_csr(tmp_path, f"{mc.participant_id}-second")
    await page.get_by_role("link", name=serial).click()
    await page.get_by_label("Or choose the CSR file").set_input_files(second_csr)
    await page.get_by_role("button", name="Reissue").click()
    await expect(page.get_by_test_id("flash")).to_contain_text(f"reissuing {serial}")
    reissued = (await page.get_by_role("heading", level=1).locator("code").text_content()) or ""
    assert reissued and reissued != serial
    await page.get_by_label("Reason").fill("key kept on a laptop that was lost")
    await page.get_by_role("button", name="Revoke…").click()
    await expect(page.get_by_test_id("reason")).to_have_text("key kept on a laptop that was lost")
    await screenshot(page, "certificate-revoke")
    await assert_accessible(page)
    await page.get_by_role("button", name="Yes, revoke it").click()
    await expect(page.get_by_test_id("flash")).to_have_text(f"Certificate {reissued} revoked.")
    await expect(page.get_by_test_id("status")).to_have_text("revoked")
    listed = await mc.http.get(f"/certs/v1/certificates/{reissued}", headers=mc.headers())
    assert listed.json()["data"]["status"] == "revoked"


async def test_a_csr_for_another_participant_is_refused_on_the_screen(
    server: ServerProcess, cast: Cast, browser: Browser, tmp_path: Path
) -> None:
    mc = await cast.participant("MC", ["MC"], WEB_SCOPES)
    _, csr = openssl_key_and_csr(tmp_path, "SOMEONEELSE-signing")
    page = await signed_in(browser, server, mc, "/app/certificates")
    await page.get_by_label("Certificate signing request (PEM)").fill(csr.read_text())
    await page.get_by_role("button", name="Issue certificate").click()
    await expect(page.get_by_test_id("problem")).to_contain_text(mc.participant_id)
    await expect(page.get_by_label("Certificate signing request (PEM)")).to_have_attribute("aria-invalid", "true")
    await assert_accessible(page)
    listed = await mc.http.get("/certs/v1/certificates", headers=mc.headers())
    assert listed.json()["data"] == []


async def test_axe_finds_no_serious_or_critical_violation_on_any_screen(
    server: ServerProcess, cast: Cast, operator: ParticipantClient, browser: Browser
) -> None:
    mc, lnsp = await cast.mc(), await cast.lnsp()
    delivered, _ = await cast.send(mc, lnsp, seed=1)
    waiting, _ = await cast.send(mc, lnsp, seed=2)
    await wait_for_queue(lnsp, 2)
    assert (await lnsp.delete(delivered)).status_code == 204  # into the outbound archive
    page = await new_page(browser, server.base_url)

    await page.goto("/app/sign-in")
    await assert_accessible(page)
    await page.get_by_label("Client id").fill(lnsp.credentials.client_id)
    await page.get_by_label("Client secret").fill("not the secret")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await assert_accessible(page)

    await sign_in(page, lnsp)
    for path in (
        "/app",
        "/app/translog",
        f"/app/translog/{waiting}",
        "/app/archive",
        f"/app/archive/{delivered}",
        "/app/flowcontrol",
        "/app/status",
        "/app/queue/pqd",
        f"/app/queue/pqd/bpqd/message/{waiting}",
        f"/app/queue/pqd/bpqd/delete?id={waiting}",
        "/app/certificates",
        "/app/translog/chart",
        "/app/flowcontrol/pqd/chart",
        "/app/recall",  # the problem page: this LNSP lacks GR_RECALL
    ):
        await page.goto(path)
        await expect(page.get_by_role("heading", level=1)).to_be_visible()
        await assert_accessible(page)

    generator = await cast.participant("GEN", ["GENERATOR"], GENERATOR_WEB_SCOPES)
    duid = f"D{secrets.token_hex(3).upper()}"
    unit = {"duid": duid, "participantId": generator.participant_id, "stationId": "AXESTN", "maxCapacityMW": 300.0}
    assert (await operator.http.post("/admin/v1/duids", json=unit, headers=operator.headers())).status_code == 201
    await page.get_by_role("button", name="Sign out").click()
    await sign_in(page, generator, "/app/recall")
    await assert_accessible(page)
    await page.get_by_role("link", name="New recall plan").click()
    await assert_accessible(page)
    await page.get_by_label("Recall plan id").fill("AXE1")
    await page.get_by_label("DUID").fill(duid)
    await fill_entry(page, 0, "2026-07-01", "2026-07-07", "240", "400")  # over capacity: the errors show
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_test_id("errors")).to_be_visible()
    await assert_accessible(page)
    await page.locator("#e0\\.Stage1MW").fill("200")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_test_id("flash")).to_contain_text("Recall plan AXE1 created")
    await assert_accessible(page)
