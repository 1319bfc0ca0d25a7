"""The transaction log from outside: filters, sort, cursor paging, CSV, related rows, payloads and who sees what.

One flow per module, made once through the public API: an MC sends a message to two LNSPs (one retrieves and
deletes it), one to each LNSP alone, has one refused with 422 and one with 403 (a signature over other bytes),
and resubmits with a different payload (409). Every test then reads the log of that flow.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from exchange.functions.bpqd.sample import sample_body, sample_envelope
from simulators.client import ParticipantClient, new_context_id
from tests.e2e import read_side
from tests.e2e.queue_helpers import wait_for_queue
from tests.e2e.read_side import People, eventually, ms_later
from tests.harness import ServerProcess
from tests.problems import assert_problem

TRANSLOG = "/idx/v1/translog"


async def search(client: ParticipantClient, **params: Any) -> dict[str, Any]:
    return await read_side.read_page(client, TRANSLOG, **params)


async def all_rows(client: ParticipantClient, **params: Any) -> list[dict[str, Any]]:
    """Every row of a search, following the cursor."""
    return await read_side.read_all(client, TRANSLOG, **params)


def parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


@dataclass
class Flow(read_side.Cast):
    """What the module's flow made: credentials, bodies, context ids, and the rows the log must end up with."""

    expected: list[tuple[str, str, str, str]]  # (name, receiver, status, priority)

    def name_of(self, context_id: str) -> str:
        return next(name for name, value in self.ids.items() if value == context_id)


async def _make_flow(server: ServerProcess) -> Flow:
    operator, mc, a, b, c = await read_side.new_cast(server, "TL")
    ids: dict[str, str] = {}
    bodies: dict[str, bytes] = {}
    try:
        for seed, (name, recipients, priority) in enumerate(
            [("both", [a, b], "High"), ("only_b", [b], "Low"), ("only_a", [a], "Medium")]
        ):
            body = sample_body(mc.participant_id, [r.participant_id for r in recipients], priority=priority, seed=seed)
            response = await mc.submit(body, priority=priority)
            assert response.status_code == 200, response.text
            ids[name], bodies[name] = response.json()["data"]["messageContextId"], body
            await asyncio.sleep(0.03)  # distinct createdDateTime at millisecond resolution

        envelope: Any = sample_envelope(mc.participant_id, [a.participant_id], priority="Medium", seed=10)
        envelope["data"]["transactions"][0]["nmiDetails"][0]["phases"][1]["voltage"][17] = 2000.0
        invalid = json.dumps(envelope).encode()
        ids["invalid"] = new_context_id("pqd", "bpqd", "Medium", mc.participant_id)
        response = await mc.submit(invalid, priority="Medium", context_id=ids["invalid"])
        assert_problem(response, 422)
        await asyncio.sleep(0.03)

        forged = sample_body(mc.participant_id, [b.participant_id], priority="Low", seed=11)
        ids["forged"] = new_context_id("pqd", "bpqd", "Low", mc.participant_id)
        signature = mc.sign(sample_body(mc.participant_id, [b.participant_id], priority="Low", seed=12))
        response = await mc.submit(forged, priority="Low", context_id=ids["forged"], signature=signature)
        assert_problem(response, 403, kind="signature")

        again = await mc.submit(bodies["only_b"], priority="Low", context_id=ids["only_b"])
        assert again.status_code == 200, again.text

        other = sample_body(mc.participant_id, [a.participant_id], priority="Medium", seed=13)
        response = await mc.submit(other, priority="Medium", context_id=ids["only_a"])
        assert_problem(response, 409)

        assert set(await wait_for_queue(a, 2)) == {ids["both"], ids["only_a"]}
        assert (await a.fetch(ids["both"])).status_code == 200
        assert (await a.delete(ids["both"])).status_code == 204

        aid, bid = a.participant_id, b.participant_id
        expected = [
            ("both", aid, "removed", "High"),
            ("both", bid, "completed", "High"),
            ("only_b", bid, "completed", "Low"),
            ("only_a", aid, "completed", "Medium"),
            ("invalid", aid, "message_rejected", "Medium"),
            ("forged", bid, "message_rejected", "Low"),
        ]

        async def settled() -> None:
            rows = await all_rows(operator, initiatingParticipantId=mc.participant_id)
            found = sorted((r["messageContextId"], r["receivingParticipantId"], r["status"]) for r in rows)
            assert found == sorted((ids[n], rcv, status) for n, rcv, status, _ in expected)

        await eventually(settled)
        return Flow(*read_side.cast_fields(server, mc, a, b, c), ids, bodies, expected)
    finally:
        await read_side.close_all(operator, mc, a, b, c)


@pytest.fixture(scope="module")
def flow(server: ServerProcess) -> Flow:
    return asyncio.run(_make_flow(server))


def keys(flow: Flow, rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((flow.name_of(r["messageContextId"]), r["receivingParticipantId"]) for r in rows)


def expected_keys(flow: Flow, wanted: Callable[[str, str, str, str], bool]) -> list[tuple[str, str]]:
    return sorted(
        (name, receiver)
        for name, receiver, status, priority in flow.expected
        if wanted(name, receiver, status, priority)
    )


# (filter, its value from the flow, which expected rows it selects)
FILTERS: list[tuple[str, Callable[[Flow], str], Callable[[str, str, str, str], bool]]] = [
    ("businessFunctionId", lambda f: "pqd", lambda n, r, s, p: True),
    ("businessFunctionId", lambda f: "bid", lambda n, r, s, p: False),
    ("businessFunctionResourceId", lambda f: "bpqd", lambda n, r, s, p: True),
    ("businessFunctionResourceId", lambda f: "energy", lambda n, r, s, p: False),
    ("messageContextId", lambda f: f.ids["both"], lambda n, r, s, p: n == "both"),
    ("messageContextId", lambda f: f.ids["invalid"], lambda n, r, s, p: n == "invalid"),
    ("receivingParticipantId", lambda f: f.a.participant_id, lambda n, r, s, p: r.startswith("TLA")),
    ("receivingParticipantId", lambda f: f.b.participant_id, lambda n, r, s, p: r.startswith("TLB")),
    ("status", lambda f: "delivery_pending", lambda n, r, s, p: s == "delivery_pending"),
    ("status", lambda f: "completed", lambda n, r, s, p: s == "completed"),
    ("status", lambda f: "removed", lambda n, r, s, p: s == "removed"),
    ("status", lambda f: "message_rejected", lambda n, r, s, p: s == "message_rejected"),
    ("messageType", lambda f: "message", lambda n, r, s, p: True),
    ("messageType", lambda f: "tack", lambda n, r, s, p: False),
    ("priority", lambda f: "High", lambda n, r, s, p: p == "High"),
    ("priority", lambda f: "Medium", lambda n, r, s, p: p == "Medium"),
    ("priority", lambda f: "Low", lambda n, r, s, p: p == "Low"),
]


@pytest.mark.parametrize(
    ("name", "value", "wanted"), FILTERS, ids=[f"{name}-{i}" for i, (name, _, _) in enumerate(FILTERS)]
)
async def test_each_filter_returns_exactly_the_rows_it_names(
    flow: Flow,
    people: People,
    name: str,
    value: Callable[[Flow], str],
    wanted: Callable[[str, str, str, str], bool],
) -> None:
    """The operator's search of the flow with one filter gives exactly the flow's rows that match it."""
    page = await search(people.operator, initiatingParticipantId=flow.mc.participant_id, **{name: value(flow)})
    assert keys(flow, page["data"]) == expected_keys(flow, wanted)
    assert page["meta"]["totalRecords"] == len(page["data"])
    for row in page["data"]:
        assert row[name] == value(flow)


async def test_the_participant_filters_select_by_sender_and_by_receiver_alone(flow: Flow, people: People) -> None:
    """initiatingParticipantId alone gives the sender's six rows; receivingParticipantId alone the LNSP's three."""
    sent = await all_rows(people.operator, initiatingParticipantId=flow.mc.participant_id)
    assert keys(flow, sent) == expected_keys(flow, lambda n, r, s, p: True)
    assert {row["initiatingParticipantId"] for row in sent} == {flow.mc.participant_id}
    assert await all_rows(people.operator, initiatingParticipantId=flow.a.participant_id) == []
    received = await all_rows(people.operator, receivingParticipantId=flow.a.participant_id)
    assert keys(flow, received) == [
        ("both", flow.a.participant_id),
        ("invalid", flow.a.participant_id),
        ("only_a", flow.a.participant_id),
    ]


async def test_every_row_carries_the_fields_of_api_md(flow: Flow, people: People) -> None:
    """Rows have the documented fields; accepted rows the payload size, rejected ones the reason in detail."""
    rows = await all_rows(people.operator, initiatingParticipantId=flow.mc.participant_id)
    fields = {
        "transactionId", "messageContextId", "messageType", "businessFunctionId", "businessFunctionResourceId",
        "priority", "initiatingParticipantId", "receivingParticipantId", "status", "createdDateTime",
        "statusDateTime", "size", "detail",
    }  # fmt: skip
    for row in rows:
        assert fields <= set(row), row
        name = flow.name_of(row["messageContextId"])
        assert row["businessFunctionId"] == "pqd" and row["businessFunctionResourceId"] == "bpqd"
        assert parse(row["createdDateTime"]) <= parse(row["statusDateTime"])
        if name in flow.bodies:
            assert row["size"] == len(flow.bodies[name])
            assert row["detail"] is None
    detail = {flow.name_of(r["messageContextId"]): r["detail"] for r in rows if r["status"] == "message_rejected"}
    assert "voltage" in detail["invalid"]
    assert detail["forged"]
    assert len({row["transactionId"] for row in rows}) == len(rows)


async def test_from_and_to_date_time_bound_the_rows_by_created_date_time(flow: Flow, people: People) -> None:
    """A window from one message's createdDateTime to just after a later one holds exactly those messages."""
    rows = await all_rows(people.operator, initiatingParticipantId=flow.mc.participant_id)
    created = {flow.name_of(r["messageContextId"]): r["createdDateTime"] for r in rows}
    window = await all_rows(
        people.operator,
        initiatingParticipantId=flow.mc.participant_id,
        fromDateTime=created["only_b"],
        toDateTime=ms_later(created["only_a"]),
    )
    assert keys(flow, window) == [("only_a", flow.a.participant_id), ("only_b", flow.b.participant_id)]
    after = await all_rows(
        people.operator, initiatingParticipantId=flow.mc.participant_id, fromDateTime=ms_later(created["forged"])
    )
    assert after == []


async def test_from_and_to_date_time_are_both_inclusive(flow: Flow, people: People) -> None:
    """fromDateTime = toDateTime = a row's own createdDateTime (as the log shows it) finds that row."""
    rows = await all_rows(people.operator, initiatingParticipantId=flow.mc.participant_id)
    created = next(r["createdDateTime"] for r in rows if r["messageContextId"] == flow.ids["only_b"])
    found = await all_rows(
        people.operator, initiatingParticipantId=flow.mc.participant_id, fromDateTime=created, toDateTime=created
    )
    assert keys(flow, found) == [("only_b", flow.b.participant_id)]


async def test_sort_orders_descending_with_a_minus_and_ascending_without(flow: Flow, people: People) -> None:
    """-statusDateTime puts the latest change (the removal) first; createdDateTime ascends; the default descends."""
    by_status = (await search(people.operator, initiatingParticipantId=flow.mc.participant_id, sort="-statusDateTime"))[
        "data"
    ]
    times = [parse(r["statusDateTime"]) for r in by_status]
    assert times == sorted(times, reverse=True)
    assert (flow.name_of(by_status[0]["messageContextId"]), by_status[0]["status"]) == ("both", "removed")

    ascending = (await search(people.operator, initiatingParticipantId=flow.mc.participant_id, sort="createdDateTime"))[
        "data"
    ]
    created = [parse(r["createdDateTime"]) for r in ascending]
    assert created == sorted(created)
    assert [flow.name_of(r["messageContextId"]) for r in ascending] == [
        "both", "both", "only_b", "only_a", "invalid", "forged",
    ]  # fmt: skip

    default = (await search(people.operator, initiatingParticipantId=flow.mc.participant_id))["data"]
    assert [parse(r["createdDateTime"]) for r in default] == sorted(created, reverse=True)
    assert [flow.name_of(r["messageContextId"]) for r in default][:2] == ["forged", "invalid"]


@pytest.mark.parametrize("sort", ["bogus", "-bogus", "detail", "createdDateTime,status"])
async def test_an_unknown_sort_is_a_bad_request(people: People, sort: str) -> None:
    """A sort that names no field of the rows is 400 problem details, never a 5xx or a silent default."""
    response = await people.operator.http.get(TRANSLOG, params={"sort": sort}, headers=people.operator.headers())
    assert_problem(response, 400)


@pytest.mark.parametrize(
    "sort", ["-createdDateTime", "createdDateTime", "-statusDateTime", "priority", "receivingParticipantId"]
)
async def test_paging_with_two_items_visits_every_row_exactly_once(flow: Flow, people: People, sort: str) -> None:
    """itemCount=2 gives three pages of at most two rows that together hold each of the six rows once, in order."""
    pages = await read_side.read_pages(
        people.operator, TRANSLOG, 2, most=10, initiatingParticipantId=flow.mc.participant_id, sort=sort
    )
    # Each page: at most two rows, and the totals of the whole search.
    shapes = [(len(page["data"]) <= 2, page["meta"]["totalRecords"], page["meta"]["totalPages"]) for page in pages]
    assert shapes == [(True, 6, 3)] * 3
    seen = [row for page in pages for row in page["data"]]
    assert sorted(r["transactionId"] for r in seen) == sorted(
        r["transactionId"] for r in await all_rows(people.operator, initiatingParticipantId=flow.mc.participant_id)
    )
    assert len({r["transactionId"] for r in seen}) == 6
    unpaged = (await search(people.operator, initiatingParticipantId=flow.mc.participant_id, sort=sort))["data"]
    assert [r["transactionId"] for r in seen] == [r["transactionId"] for r in unpaged]


async def test_a_cursor_the_exchange_never_handed_out_is_a_bad_request(people: People) -> None:
    """Garbage in `cursor` is 400, not 500."""
    response = await people.operator.http.get(
        TRANSLOG, params={"cursor": "not-a-cursor!"}, headers=people.operator.headers()
    )
    assert_problem(response, 400)


async def test_csv_has_the_json_field_names_and_the_same_rows(flow: Flow, people: People) -> None:
    """Accept: text/csv answers the same query as CSV the csv module reads, one line per JSON row."""
    params = {"initiatingParticipantId": flow.mc.participant_id}
    as_json = await search(people.operator, **params)
    response = await people.operator.http.get(
        TRANSLOG, params=params, headers=people.operator.headers(Accept="text/csv")
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    reader = csv.DictReader(io.StringIO(response.text))
    lines = list(reader)
    assert reader.fieldnames == list(as_json["data"][0])
    assert len(lines) == as_json["meta"]["totalRecords"] == 6
    by_id = {row["transactionId"]: row for row in as_json["data"]}
    for line in lines:
        row = by_id[line["transactionId"]]
        for name in ("messageContextId", "status", "receivingParticipantId", "priority", "createdDateTime"):
            assert line[name] == row[name]
        assert line["size"] == str(row["size"])


async def test_csv_of_a_participant_holds_only_what_it_may_see(flow: Flow, people: People) -> None:
    """LNSP A's CSV has as many lines as its JSON totalRecords and none of the rows kept from it."""
    as_json = await search(people.a)
    response = await people.a.http.get(TRANSLOG, headers=people.a.headers(Accept="text/csv"))
    assert response.status_code == 200, response.text
    lines = list(csv.DictReader(io.StringIO(response.text)))
    assert len(lines) == as_json["meta"]["totalRecords"] == 2
    assert {line["messageContextId"] for line in lines} == {flow.ids["both"], flow.ids["only_a"]}


async def test_one_message_shows_its_fan_out_and_its_history_oldest_first(flow: Flow, people: People) -> None:
    """GET /translog/{id}: a row per receiver; A's history is pending, completed, retrieved, removed; B's two steps."""
    response = await people.operator.http.get(f"{TRANSLOG}/{flow.ids['both']}", headers=people.operator.headers())
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    a, b = flow.a.participant_id, flow.b.participant_id
    assert sorted((r["receivingParticipantId"], r["status"]) for r in data["rows"]) == [
        (a, "removed"),
        (b, "completed"),
    ]
    history = data["history"]
    assert [h["status"] for h in history if h["receivingParticipantId"] == a] == [
        "delivery_pending", "completed", "retrieved", "removed",
    ]  # fmt: skip
    assert [h["status"] for h in history if h["receivingParticipantId"] == b] == ["delivery_pending", "completed"]
    times = [parse(h["statusDateTime"]) for h in history]
    assert times == sorted(times)
    assert len(history) == 6

    sender_view = (await people.mc.http.get(f"{TRANSLOG}/{flow.ids['both']}", headers=people.mc.headers())).json()
    assert sender_view["data"] == data


async def test_a_receiver_sees_only_its_own_row_of_a_fan_out_and_its_history(flow: Flow, people: People) -> None:
    """LNSP A asking for the two-LNSP message gets its row and its four history entries, nothing of B's."""
    response = await people.a.http.get(f"{TRANSLOG}/{flow.ids['both']}", headers=people.a.headers())
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [r["receivingParticipantId"] for r in data["rows"]] == [flow.a.participant_id]
    assert {h["receivingParticipantId"] for h in data["history"]} == {flow.a.participant_id}
    assert [h["status"] for h in data["history"]] == ["delivery_pending", "completed", "retrieved", "removed"]


async def test_the_payload_goes_to_its_sender_and_receivers_byte_identical(flow: Flow, people: People) -> None:
    """The sender and both receivers download exactly the submitted bytes, gzip-encoded or not."""
    for client in (people.mc, people.a, people.b):
        for encoding in ("gzip", "identity"):
            response = await client.http.get(
                f"{TRANSLOG}/{flow.ids['both']}/payload", headers=client.headers(**{"Accept-Encoding": encoding})
            )
            assert response.status_code == 200, (client.participant_id, response.text)
            assert response.content == flow.bodies["both"]
            assert (response.headers.get("content-encoding") == "gzip") == (encoding == "gzip")
    # The receiver that deleted it from its queue still gets it from the log.
    response = await people.a.http.get(f"{TRANSLOG}/{flow.ids['both']}/payload", headers=people.a.headers())
    assert response.content == flow.bodies["both"]


async def test_the_payload_is_not_found_for_anyone_else(flow: Flow, people: People) -> None:
    """An unrelated LNSP, the operator, and an LNSP it was not sent to get 404, as for an unknown id."""
    for client, name in ((people.c, "both"), (people.operator, "both"), (people.a, "only_b"), (people.b, "only_a")):
        response = await client.http.get(f"{TRANSLOG}/{flow.ids[name]}/payload", headers=client.headers())
        assert_problem(response, 404)
    unknown = new_context_id("pqd", "bpqd", "Low", flow.mc.participant_id)
    response = await people.mc.http.get(f"{TRANSLOG}/{unknown}/payload", headers=people.mc.headers())
    assert_problem(response, 404)


async def test_an_lnsp_never_sees_rows_of_a_message_sent_only_to_another(flow: Flow, people: People) -> None:
    """LNSP A's log has only rows it receives; the message for B alone is absent from its search and lookup."""
    rows = await all_rows(people.a)
    assert keys(flow, rows) == [("both", flow.a.participant_id), ("only_a", flow.a.participant_id)]
    assert all(r["receivingParticipantId"] == flow.a.participant_id for r in rows)
    assert (await search(people.a, messageContextId=flow.ids["only_b"]))["meta"]["totalRecords"] == 0
    response = await people.a.http.get(f"{TRANSLOG}/{flow.ids['only_b']}", headers=people.a.headers())
    assert_problem(response, 404)
    assert keys(flow, await all_rows(people.b)) == [("both", flow.b.participant_id), ("only_b", flow.b.participant_id)]
    assert await all_rows(people.c) == []


async def test_a_rejection_is_visible_to_its_sender_and_the_operator_only(flow: Flow, people: People) -> None:
    """The 422 and 403 refusals show to the MC and the operator as message_rejected, never to the named LNSP."""
    for name, named in (("invalid", people.a), ("forged", people.b)):
        for viewer in (people.mc, people.operator):
            rows = (await search(viewer, messageContextId=flow.ids[name]))["data"]
            assert [(r["receivingParticipantId"], r["status"]) for r in rows] == [
                (named.participant_id, "message_rejected")
            ]
            response = await viewer.http.get(f"{TRANSLOG}/{flow.ids[name]}", headers=viewer.headers())
            assert response.status_code == 200, response.text
            history = response.json()["data"]["history"]
            assert [h["status"] for h in history] == ["message_rejected"]
            assert history[0]["detail"]
        assert (await search(named, messageContextId=flow.ids[name]))["meta"]["totalRecords"] == 0
        assert (await search(named, status="message_rejected"))["meta"]["totalRecords"] == 0
        response = await named.http.get(f"{TRANSLOG}/{flow.ids[name]}", headers=named.headers())
        assert_problem(response, 404)


async def test_a_409_resubmission_adds_no_row(flow: Flow, people: People) -> None:
    """The resubmission of only_a with another payload left its one completed row and no rejection."""
    rows = await all_rows(people.operator, messageContextId=flow.ids["only_a"])
    assert [(r["receivingParticipantId"], r["status"]) for r in rows] == [(flow.a.participant_id, "completed")]
    response = await people.operator.http.get(f"{TRANSLOG}/{flow.ids['only_a']}", headers=people.operator.headers())
    assert [h["status"] for h in response.json()["data"]["history"]] == ["delivery_pending", "completed"]


async def test_an_identical_resubmission_adds_no_row_either(flow: Flow, people: People) -> None:
    """only_b was sent twice with the same bytes (200 both times) and the log still has its single row."""
    rows = await all_rows(people.operator, messageContextId=flow.ids["only_b"])
    assert [(r["receivingParticipantId"], r["status"]) for r in rows] == [(flow.b.participant_id, "completed")]


async def test_a_token_without_translog_translog_is_refused(flow: Flow, people: People) -> None:
    """A token without the entity gets 403, no token 401."""
    client = people.c
    await client.login(scope="PQD_BPQD")
    assert_problem(await client.http.get(TRANSLOG, headers=client.headers()), 403)
    assert_problem(await client.http.get(TRANSLOG), 401)
