"""The outbound archive from outside: what each recipient finds, byte-identical payloads, filters, paging, retention.

One flow per module: an MC sends one message to LNSPs A and B, two to A alone and one to B alone, each delivered
before the next is sent; A retrieves and deletes the first. Retention runs on a server of its own, whose test clock
is moved forward by seven years.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from cryptography import x509

from certs.signature import parse_signature_header, verify_detached
from exchange.functions.bpqd.sample import sample_body
from simulators.client import ParticipantClient, new_context_id, operator_client
from tests.e2e import read_side
from tests.e2e.queue_helpers import accepted_id, queued_ids, wait_for_queue
from tests.e2e.read_side import People, eventually, ms_later, new_participant
from tests.harness import ServerProcess, running_server
from tests.problems import assert_problem

ARCHIVE = "/idx/v1/archive"
RETENTION_DAYS = 2557
DAY = 86400


async def listing(client: ParticipantClient, **params: Any) -> dict[str, Any]:
    return await read_side.read_page(client, ARCHIVE, **params)


async def archived(client: ParticipantClient, **params: Any) -> list[dict[str, Any]]:
    """Every archive item of the caller matching `params`, following the cursor."""
    return await read_side.read_all(client, ARCHIVE, **params)


@dataclass
class Flow(read_side.Cast):
    hub_signature: str  # x-signature of `both` as A fetched it from its queue

    def names(self, items: list[dict[str, Any]]) -> list[str]:
        by_id = {value: name for name, value in self.ids.items()}
        return [by_id[item["messageContextId"]] for item in items]


async def _make_flow(server: ServerProcess) -> Flow:
    operator, mc, a, b, c = await read_side.new_cast(server, "AR")
    ids: dict[str, str] = {}
    bodies: dict[str, bytes] = {}
    try:
        plan = [("both", [a, b], "High"), ("a1", [a], "Medium"), ("b1", [b], "Low"), ("a2", [a], "Low")]
        for seed, (name, recipients, priority) in enumerate(plan):
            body = sample_body(mc.participant_id, [r.participant_id for r in recipients], priority=priority, seed=seed)
            ids[name], bodies[name] = await accepted_id(mc, body, priority), body
            for recipient in recipients:  # delivered before the next one is sent: distinct delivery times
                await eventually(lambda r=recipient, n=name: _has_queued(r, ids[n]))
            await asyncio.sleep(0.01)
        fetched = await a.fetch(ids["both"])
        assert fetched.status_code == 200
        assert (await a.delete(ids["both"])).status_code == 204

        async def settled() -> None:
            assert {i["messageContextId"] for i in await archived(a)} == {ids["both"], ids["a1"], ids["a2"]}
            assert {i["messageContextId"] for i in await archived(b)} == {ids["both"], ids["b1"]}

        await eventually(settled)
        return Flow(*read_side.cast_fields(server, mc, a, b, c), ids, bodies, fetched.headers["x-signature"])
    finally:
        await read_side.close_all(operator, mc, a, b, c)


async def _has_queued(client: ParticipantClient, context_id: str) -> None:
    assert context_id in await queued_ids(client)


@pytest.fixture(scope="module")
def flow(server: ServerProcess) -> Flow:
    return asyncio.run(_make_flow(server))


async def test_delivered_messages_are_in_the_recipients_archive_only(flow: Flow, people: People) -> None:
    """A's archive holds what reached A, newest first; B's what reached B; the sender's and a bystander's nothing."""
    a_items = await archived(people.a)
    assert flow.names(a_items) == ["a2", "a1", "both"]
    assert flow.names(await archived(people.b)) == ["b1", "both"]
    assert await archived(people.mc) == []
    assert await archived(people.c) == []
    for item in a_items:
        name = flow.names([item])[0]
        assert item["initiatingParticipantId"] == flow.mc.participant_id
        assert item["businessFunctionId"] == "pqd"
        assert item["businessFunctionResourceId"] == "bpqd"
        assert item["size"] == len(flow.bodies[name])
    assert {i["priority"] for i in a_items} == {"High", "Medium", "Low"}
    delivered = [datetime.fromisoformat(i["deliveredDateTime"]) for i in a_items]
    assert delivered == sorted(delivered, reverse=True)


async def test_an_archived_message_is_byte_identical_with_the_hubs_signature_after_deletion(
    flow: Flow, people: People
) -> None:
    """A deleted `both` from its queue; the archive still gives the exact bytes and the hub's x-signature."""
    assert_problem(await people.a.fetch(flow.ids["both"]), 404)  # gone from the queue
    hub = (await people.a.http.get("/certs/v1/hub")).json()["data"]
    hub_certificate = x509.load_pem_x509_certificate(hub["hubCertificate"].encode())
    for client in (people.a, people.b):
        for encoding in ("gzip", "identity"):
            response = await client.http.get(
                f"{ARCHIVE}/{flow.ids['both']}", headers=client.headers(**{"Accept-Encoding": encoding})
            )
            assert response.status_code == 200, response.text
            assert response.content == flow.bodies["both"]
            assert (response.headers.get("content-encoding") == "gzip") == (encoding == "gzip")
            assert response.headers["x-signature"] == flow.hub_signature
            signer = verify_detached(parse_signature_header(response.headers["x-signature"]), response.content)
            assert signer == hub_certificate


async def test_the_date_filters_select_by_delivery_time(flow: Flow, people: People) -> None:
    """startDateTime and endDateTime bound deliveredDateTime: windows give exactly the items delivered in them."""
    delivered = {flow.names([i])[0]: i["deliveredDateTime"] for i in await archived(people.a)}
    after_first = await archived(people.a, startDateTime=ms_later(delivered["both"]))
    assert flow.names(after_first) == ["a2", "a1"]
    up_to_first = await archived(people.a, endDateTime=ms_later(delivered["both"]))
    assert flow.names(up_to_first) == ["both"]
    window = await archived(people.a, startDateTime=delivered["a1"], endDateTime=ms_later(delivered["a2"]))
    assert flow.names(window) == ["a2", "a1"]
    assert await archived(people.a, startDateTime=ms_later(delivered["a2"])) == []


async def test_end_date_time_is_inclusive(flow: Flow, people: People) -> None:
    """startDateTime = endDateTime = an item's own deliveredDateTime (as the archive shows it) finds that item."""
    delivered = {flow.names([i])[0]: i["deliveredDateTime"] for i in await archived(people.a)}
    found = await archived(people.a, startDateTime=delivered["a1"], endDateTime=delivered["a1"])
    assert flow.names(found) == ["a1"]


async def test_the_function_and_resource_filters_select_by_business_function(flow: Flow, people: People) -> None:
    """businessFunctionId / businessFunctionResourceId keep BPQD items and drop everything for another function."""
    assert len(await archived(people.a, businessFunctionId="pqd")) == 3
    assert len(await archived(people.a, businessFunctionResourceId="bpqd")) == 3
    assert len(await archived(people.a, businessFunctionId="pqd", businessFunctionResourceId="bpqd")) == 3
    assert await archived(people.a, businessFunctionId="gr") == []
    assert await archived(people.a, businessFunctionResourceId="recall") == []


async def test_paging_with_two_items_visits_every_item_once(flow: Flow, people: People) -> None:
    """itemCount=2 over A's three items: two pages, every item once, in the unpaged order."""
    pages = await read_side.read_pages(people.a, ARCHIVE, 2, most=6)
    # Each page: at most two items, and the totals of the whole listing.
    shapes = [(len(page["data"]) <= 2, page["meta"]["totalRecords"], page["meta"]["totalPages"]) for page in pages]
    assert shapes == [(True, 3, 2)] * 2
    assert flow.names([item for page in pages for item in page["data"]]) == ["a2", "a1", "both"]


async def test_another_participants_archive_item_is_not_found(flow: Flow, people: People) -> None:
    """B, a bystander, the sender and A asking for items not delivered to them get 404, as for an unknown id."""
    for client, name in ((people.b, "a1"), (people.c, "both"), (people.mc, "both"), (people.a, "b1")):
        response = await client.http.get(f"{ARCHIVE}/{flow.ids[name]}", headers=client.headers())
        assert_problem(response, 404)
    unknown = new_context_id("pqd", "bpqd", "Low", flow.mc.participant_id)
    assert_problem(await people.a.http.get(f"{ARCHIVE}/{unknown}", headers=people.a.headers()), 404)


async def test_a_bad_cursor_is_400_and_a_token_without_arch_retrieve_403(flow: Flow, people: People) -> None:
    """Malformed paging is a bad request; the entity is required."""
    assert_problem(await people.a.http.get(ARCHIVE, params={"cursor": "%%%"}, headers=people.a.headers()), 400)
    await people.c.login(scope="PQD_BPQD")
    assert_problem(await people.c.http.get(ARCHIVE, headers=people.c.headers()), 403)


# --- retention, on a server of its own -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def retention_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("retention") / "data", "--test-clock", "--rate-limit", "0") as running:
        yield running


async def advance(operator: ParticipantClient, seconds: float) -> None:
    response = await operator.http.post("/admin/v1/clock", json={"advanceSeconds": seconds}, headers=operator.headers())
    assert response.status_code == 200, response.text


async def test_retention_purges_items_older_than_2557_days_and_leaves_the_log(retention_server: ServerProcess) -> None:
    """After 2,558 days the old item leaves the archive (a younger one stays) and its log rows are unchanged."""
    server = retention_server
    operator = await operator_client(server.base_url, server.operator_secret)
    mc = await new_participant(server, operator, "RTMC", ["MC"], enrol=True)
    lnsp = await new_participant(server, operator, "RTL", ["LNSP"])
    clients = [operator, mc, lnsp]
    try:
        old = await accepted_id(mc, sample_body(mc.participant_id, [lnsp.participant_id], seed=1))
        assert await wait_for_queue(lnsp, 1) == [old]
        assert (await lnsp.delete(old)).status_code == 204

        async def old_archived() -> None:
            assert [i["messageContextId"] for i in await archived(lnsp)] == [old]

        await eventually(old_archived)

        async def log_of(context_id: str) -> dict[str, Any]:
            response = await operator.http.get(f"/idx/v1/translog/{context_id}", headers=operator.headers())
            assert response.status_code == 200, response.text
            return dict(response.json()["data"])

        async def old_removed() -> dict[str, Any]:
            log = await log_of(old)
            assert [r["status"] for r in log["rows"]] == ["removed"]
            # The verifiable log signs a tree head over the acceptance soon after; until then leafIndex is null.
            assert log["leafIndex"] is not None
            return log

        log_before = await eventually(old_removed)

        # 2,000 days on, a younger message arrives (the MC's certificate has expired by then: a new one).
        await advance(operator, 2000 * DAY)
        for client in clients:
            await client.login()
        await mc.enrol()
        young_body = sample_body(mc.participant_id, [lnsp.participant_id], seed=2)
        young = await accepted_id(mc, young_body)

        async def both_archived() -> None:
            assert {i["messageContextId"] for i in await archived(lnsp)} == {old, young}

        await eventually(both_archived)

        # Past the old item's retention (2,558 days and an hour after it), well within the young one's.
        await advance(operator, (RETENTION_DAYS + 1 - 2000) * DAY + 3600)
        for client in clients:
            await client.login()

        async def old_purged() -> None:
            assert [i["messageContextId"] for i in await archived(lnsp)] == [young]

        await eventually(old_purged, within=35.0)
        assert_problem(await lnsp.http.get(f"{ARCHIVE}/{old}", headers=lnsp.headers()), 404)
        kept = await lnsp.http.get(f"{ARCHIVE}/{young}", headers=lnsp.headers())
        assert kept.status_code == 200
        assert kept.content == young_body
        assert await log_of(old) == log_before
    finally:
        for client in clients:
            await client.close()
