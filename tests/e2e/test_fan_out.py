"""Fan-out and queues: one copy per recipient, each queue private, listed by priority then age, paged and filtered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from exchange.functions.bpqd.sample import sample_body
from simulators.client import ParticipantClient
from tests.e2e.conftest import Participants
from tests.e2e.queue_helpers import accepted_id, queued_ids, settled_queues, wait_for_queue
from tests.problems import assert_problem


def assert_not_found(response: httpx.Response) -> None:
    assert_problem(response, 404)


async def send(mc: ParticipantClient, recipients: list[ParticipantClient], priority: str, seed: int) -> dict[str, Any]:
    """Submit one message; its receipt data."""
    body = sample_body(mc.participant_id, [r.participant_id for r in recipients], priority=priority, seed=seed)
    response = await mc.submit(body, priority=priority)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def advance_clock(operator: ParticipantClient, seconds: float) -> None:
    moved = await operator.http.post("/admin/v1/clock", json={"advanceSeconds": seconds}, headers=operator.headers())
    assert moved.status_code == 200, moved.text


async def page(client: ParticipantClient, **params: Any) -> dict[str, Any]:
    response = await client.list_queue(**params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_a_message_to_two_lnsps_is_queued_once_in_each(participants: Participants) -> None:
    """Fan-out: both recipients hold it exactly once with the same bytes; a bystander and the sender hold nothing."""
    mc = await participants.new("MC", ["MC"])
    lnsp_a = await participants.new("LN", ["LNSP"], enrol=False)
    lnsp_b = await participants.new("LN", ["LNSP"], enrol=False)
    bystander = await participants.new("LN", ["LNSP"], enrol=False)
    body = sample_body(mc.participant_id, [lnsp_a.participant_id, lnsp_b.participant_id])

    context_id = await accepted_id(mc, body)

    assert await settled_queues(mc, lnsp_a, lnsp_b, bystander) == [[context_id], [context_id], []]
    for lnsp in (lnsp_a, lnsp_b):
        fetched = await lnsp.fetch(context_id)
        assert fetched.status_code == 200, fetched.text
        assert fetched.content == body
        assert fetched.headers["x-initiatingparticipantid"] == mc.participant_id
    assert await queued_ids(mc) == []


async def test_each_queue_is_private_to_its_owner(participants: Participants) -> None:
    """A message for LNSP A only: LNSP B and the sending MC get 404 on fetch and delete, and A still has it."""
    mc = await participants.new("MC", ["MC"])
    lnsp_a = await participants.new("LN", ["LNSP"], enrol=False)
    lnsp_b = await participants.new("LN", ["LNSP"], enrol=False)
    context_id = (await send(mc, [lnsp_a], "Medium", seed=1))["messageContextId"]
    assert await wait_for_queue(lnsp_a, 1) == [context_id]

    for outsider in (lnsp_b, mc):
        assert_not_found(await outsider.fetch(context_id))
        assert_not_found(await outsider.fetch(context_id, gzip_ok=False))
        assert_not_found(await outsider.delete(context_id))
    assert_not_found(await lnsp_a.fetch(f"pqd~bpqd~m~{mc.participant_id}~doesnotexist"))

    assert await queued_ids(lnsp_a) == [context_id]
    assert (await lnsp_a.fetch(context_id)).status_code == 200


async def test_deleting_in_one_queue_leaves_the_other_recipients_copy(participants: Participants) -> None:
    """After LNSP A deletes its copy, A gets 404 and an empty list while B still lists, fetches and can delete it."""
    mc = await participants.new("MC", ["MC"])
    lnsp_a = await participants.new("LN", ["LNSP"], enrol=False)
    lnsp_b = await participants.new("LN", ["LNSP"], enrol=False)
    context_id = (await send(mc, [lnsp_a, lnsp_b], "High", seed=1))["messageContextId"]
    assert await wait_for_queue(lnsp_a, 1) == [context_id]
    assert await wait_for_queue(lnsp_b, 1) == [context_id]

    assert (await lnsp_a.delete(context_id)).status_code == 204

    assert await queued_ids(lnsp_a) == []
    assert_not_found(await lnsp_a.fetch(context_id))
    assert_not_found(await lnsp_a.delete(context_id))
    assert await queued_ids(lnsp_b) == [context_id]
    assert (await lnsp_b.fetch(context_id)).status_code == 200
    assert (await lnsp_b.delete(context_id)).status_code == 204
    assert await queued_ids(lnsp_b) == []


async def test_the_list_is_ordered_high_medium_low_then_oldest_first_and_filters_by_priority(
    participants: Participants, operator: ParticipantClient
) -> None:
    """Submitted Low, High, Medium, High → listed High (older), High (newer), Medium, Low; priority=High lists both."""
    mc, lnsp = await participants.mc_and_lnsp()
    receipts = []
    for seed, priority in enumerate(["Low", "High", "Medium", "High"]):
        receipts.append(await send(mc, [lnsp], priority, seed))
        await advance_clock(operator, 1)
    low, high_old, medium, high_new = (r["messageContextId"] for r in receipts)
    await wait_for_queue(lnsp, 4)

    listed = await page(lnsp)

    assert [item["messageContextId"] for item in listed["data"]] == [high_old, high_new, medium, low]
    assert [item["priority"] for item in listed["data"]] == ["High", "High", "Medium", "Low"]
    by_id = {item["messageContextId"]: item for item in listed["data"]}
    for receipt in receipts:
        item = by_id[receipt["messageContextId"]]
        assert item["createdDateTime"] == receipt["receivedDateTime"]
        assert item["initiatingParticipantId"] == mc.participant_id
        assert item["messageType"] == "BasicPowerQualityData"
        assert datetime.fromisoformat(item["queuedDateTime"]) >= datetime.fromisoformat(item["createdDateTime"])
    assert listed["meta"] == {"itemCount": 4, "nextCursor": None, "totalRecords": 4, "totalPages": 1}

    high = await page(lnsp, priority="High")
    assert [item["messageContextId"] for item in high["data"]] == [high_old, high_new]
    assert high["meta"]["totalRecords"] == 2
    medium_only = await page(lnsp, priority="Medium")
    assert [item["messageContextId"] for item in medium_only["data"]] == [medium]


async def test_paging_by_two_walks_every_item_once_in_order(participants: Participants) -> None:
    """itemCount=2 over 5 messages: pages of 2, 2, 1 in list order; nextCursor null only on the last; meta right."""
    mc, lnsp = await participants.mc_and_lnsp()
    for seed, priority in enumerate(["Low", "Medium", "High", "Medium", "Low"]):
        await send(mc, [lnsp], priority, seed)
    await wait_for_queue(lnsp, 5)
    whole = [item["messageContextId"] for item in (await page(lnsp))["data"]]
    assert len(whole) == 5

    walked: list[str] = []
    sizes: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"itemCount": 2}
        if cursor is not None:
            params["cursor"] = cursor
        answer = await page(lnsp, **params)
        meta = answer["meta"]
        assert meta["itemCount"] == len(answer["data"])
        assert meta["totalRecords"] == 5
        assert meta["totalPages"] == 3
        walked += [item["messageContextId"] for item in answer["data"]]
        sizes.append(len(answer["data"]))
        cursor = meta["nextCursor"]
        if cursor is None:
            break
        assert len(sizes) < 5, "the cursor never ends"

    assert sizes == [2, 2, 1]
    assert walked == whole


async def test_a_cursor_survives_deleting_an_item_already_seen(participants: Participants) -> None:
    """Deleting an item of page one before asking for page two neither skips nor repeats an item."""
    mc, lnsp = await participants.mc_and_lnsp()
    for seed in range(4):
        await send(mc, [lnsp], "Medium", seed)
    await wait_for_queue(lnsp, 4)
    whole = [item["messageContextId"] for item in (await page(lnsp))["data"]]

    first = await page(lnsp, itemCount=2)
    assert [item["messageContextId"] for item in first["data"]] == whole[:2]
    assert (await lnsp.delete(whole[0])).status_code == 204
    second = await page(lnsp, itemCount=2, cursor=first["meta"]["nextCursor"])

    assert [item["messageContextId"] for item in second["data"]] == whole[2:]
    assert second["meta"]["nextCursor"] is None
    assert second["meta"]["totalRecords"] == 3


async def test_an_empty_queue_lists_nothing_with_null_cursor(participants: Participants) -> None:
    """A recipient with nothing waiting gets data [] and meta with zero records and a null cursor."""
    lnsp = await participants.new("LN", ["LNSP"], enrol=False)

    answer = await page(lnsp)

    assert answer["data"] == []
    assert answer["meta"]["nextCursor"] is None
    assert answer["meta"]["totalRecords"] == 0
    assert answer["meta"]["itemCount"] == 0


async def test_from_and_to_date_time_filter_on_created_date_time_inclusively(
    participants: Participants, operator: ParticipantClient
) -> None:
    """fromDateTime/toDateTime taken from listed createdDateTime values select exactly the items between, inclusive."""
    mc, lnsp = await participants.mc_and_lnsp()
    sent = []
    for seed in range(4):
        sent.append((await send(mc, [lnsp], "Medium", seed))["messageContextId"])
        await advance_clock(operator, 2)
    await wait_for_queue(lnsp, 4)
    items = (await page(lnsp))["data"]
    assert [item["messageContextId"] for item in items] == sent
    created = [item["createdDateTime"] for item in items]
    assert created == sorted(created, key=datetime.fromisoformat)

    async def ids(**params: str) -> list[str]:
        return [item["messageContextId"] for item in (await page(lnsp, **params))["data"]]

    assert await ids(fromDateTime=created[1]) == sent[1:]
    assert await ids(toDateTime=created[2]) == sent[:3]
    assert await ids(fromDateTime=created[1], toDateTime=created[2]) == sent[1:3]
    assert await ids(fromDateTime=created[3], toDateTime=created[3]) == sent[3:]
    # The same instants written in UTC select the same items.
    in_utc = [datetime.fromisoformat(c).astimezone(UTC).isoformat(timespec="milliseconds") for c in created]
    assert await ids(fromDateTime=in_utc[1], toDateTime=in_utc[2]) == sent[1:3]
