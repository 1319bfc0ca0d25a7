"""The industry test scenarios of AEMO's coordinated test plan (Table 7), each with fresh participants, each
checking its own outcome. A scenario returns a one-line summary, raises CheckFailedError when an expectation
fails and NotServedError when the exchange does not serve what it needs (reported as skipped)."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from simulators.figures import PayloadShape
from simulators.participants import (
    GENERATOR_SCOPES,
    Cast,
    CheckFailedError,
    HubTrust,
    Lnsp,
    NotServedError,
    Sender,
    check,
    eventually,
    expect_status,
    listening,
)

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")
FLOW = "/idx/v1/flowcontrol/businessFunctions"


@dataclass
class Stage:
    """What a scenario works with: the exchange's address, a cast of fresh participants, the hub's CA."""

    base_url: str
    cast: Cast
    trust: HubTrust
    options: dict[str, Any] = field(default_factory=dict)
    progress: Callable[[str, float, float], None] = lambda _label, _done, _total: None

    async def sender(self, role: str = "MC") -> Sender:
        return Sender(await self.cast.new(f"S{role}", [role]))

    async def lnsp(self) -> Lnsp:
        # Enrolled, so that it signs its deletes.
        return Lnsp(await self.cast.new("SLN", ["LNSP"]), self.trust)


Scenario = Callable[[Stage], Awaitable[str]]


async def submit_and_verify_format(stage: Stage) -> str:
    """An MC submits signed gzip BPQD; the receipt verifies; the LNSP is told, gets the exact bytes with the hub's
    and the sender's signatures, both verifying; a reading out of range is refused naming its field path."""
    mc, lnsp = await stage.sender("MC"), await stage.lnsp()
    async with listening(lnsp.client) as events:
        sent = await mc.send([lnsp.participant_id], "High", PayloadShape(3))
        stage.trust.verify_receipt(sent.answer, sent.body)
        frame = await events.wait_for(lambda f: f.get("messageContextId") == sent.context_id)
    expected = {"eventType": "messageAvailable", "priority": "High", "initiatingParticipantId": mc.participant_id,
                "businessFunctionId": "pqd", "businessFunctionResourceId": "bpqd"}  # fmt: skip
    check({k: frame.get(k) for k in expected} == expected, f"messageAvailable frame {frame}")
    delivery = await lnsp.take(sent.context_id, mc.participant_id)
    check(delivery.payload == sent.body, "the payload received is not byte-identical to the one submitted")
    acknowledged = await mc.client.http.get(
        f"/idx/v1/translog/{sent.context_id}/acknowledgements", headers=mc.client.headers()
    )
    signatures = [a.get("signature") for a in expect_status(acknowledged, 200, "acknowledgements").json()["data"]]
    check(
        signatures and signatures[0],
        f"the LNSP's delete is acknowledged to the sender with its signature: {signatures}",
    )
    envelope = json.loads(delivery.payload)
    details = envelope["data"]["transactions"][0]["nmiDetails"]
    check(len(details) == 3 and all(len(d["phases"]) == 3 for d in details), "three NMIs of three phases each")
    check(all(len(p["voltage"]) == 288 for d in details for p in d["phases"]), "288 five-minute intervals")

    bad = json.loads(mc.body([lnsp.participant_id], "Medium"))
    bad["data"]["transactions"][0]["nmiDetails"][0]["phases"][1]["voltage"][17] = 5000.0
    response, _, _ = await mc.send_body(json.dumps(bad).encode(), "Medium")
    expect_status(response, 422, "a voltage of 5000 V")
    fields = [error.get("field") for error in response.json().get("errors", [])]
    wanted = "data.transactions[0].nmiDetails[0].phases[1].voltage[17]"
    check(wanted in fields, f"the rejection names {fields}, not {wanted}")
    return (
        f"{len(sent.body)} B accepted, receipt and both signatures verified, signed delete acknowledged; "
        f"bad reading refused at {wanted}"
    )


async def metadata(stage: Stage) -> str:
    """The LNSP's queue lists each message's metadata (ids, priority, type, created/queued times, size), and the
    transaction log shows the delivery completed."""
    mc, lnsp = await stage.sender("MDP"), await stage.lnsp()
    async with listening(lnsp.client) as events:
        sent = [await mc.send([lnsp.participant_id], priority) for priority in ("Medium", "Low")]
        wanted = {message.context_id for message in sent}
        await events.wait_for(lambda _f: wanted <= set(events.available()))
    # The listing may trail the frame by a few milliseconds (seen on this exchange): wait for it.
    listed = await eventually(lambda: _queue_holds(lnsp, len(sent)), within=5.0, every=0.1)
    items = {item["messageContextId"]: item for item in listed}
    check(set(items) == {m.context_id for m in sent}, f"queue lists {sorted(items)}")
    for message in sent:
        item = items[message.context_id]
        check(item["initiatingParticipantId"] == mc.participant_id, f"initiatingParticipantId {item}")
        check(item["priority"] == message.priority, f"priority {item}")
        check(bool(item.get("messageType")), f"messageType {item}")
        for name in ("createdDateTime", "queuedDateTime"):
            check(TIMESTAMP.match(str(item.get(name))), f"{name} {item.get(name)!r} is not ISO 8601 with ms")
        check(item["createdDateTime"] <= item["queuedDateTime"], f"queued before created: {item}")
        check(isinstance(item.get("size"), int) and item["size"] > 0, f"size {item.get('size')!r}")
        check(item["createdDateTime"] == message.answer["data"]["receivedDateTime"], "createdDateTime ≠ receipt")

    async def logged_as_completed() -> None:
        # The transaction log is a projection of its own: it shows the delivery a moment after the queue does.
        log = await lnsp.client.http.get(
            "/idx/v1/translog", params={"messageContextId": sent[0].context_id}, headers=lnsp.client.headers()
        )
        rows = expect_status(log, 200, "GET /idx/v1/translog").json()["data"]
        check([row["status"] for row in rows] == ["completed"], f"translog rows {rows}")

    await eventually(logged_as_completed, within=10.0, every=0.2)
    return f"{len(items)} messages listed with full metadata; translog shows completed"


async def list_by_priority(stage: Stage) -> str:
    """Messages submitted Low, Medium, High, Low, High list High, High, Medium, Low, Low (oldest first within a
    priority); the priority filter and cursor paging agree."""
    mc, lnsp = await stage.sender("MC"), await stage.lnsp()
    order = ["Low", "Medium", "High", "Low", "High"]
    async with listening(lnsp.client) as events:
        sent = [await mc.send([lnsp.participant_id], priority) for priority in order]
        await events.wait_for(lambda _f: len(events.available()) >= len(sent))
    rank = {"High": 0, "Medium": 1, "Low": 2}
    expected = [m.context_id for m in sorted(sent, key=lambda m: rank[m.priority])]  # stable: submission order
    listed = [item["messageContextId"] for item in await eventually(lambda: _queue_holds(lnsp, len(sent)), 5.0, 0.1)]
    check(listed == expected, f"listed {listed}, expected {expected}")
    highs = [item["messageContextId"] for item in await lnsp.listed(priority="High")]
    check(highs == expected[:2], f"priority=High lists {highs}")
    paged, cursor = [], None
    while True:
        params: dict[str, Any] = {"itemCount": 2, **({"cursor": cursor} if cursor else {})}
        page = expect_status(await lnsp.client.list_queue(**params), 200, "a page of 2").json()
        paged += [item["messageContextId"] for item in page["data"]]
        cursor = page["meta"]["nextCursor"]
        if cursor is None:
            break
    check(paged == expected, f"pages of 2 give {paged}")
    return "High, High, Medium, Low, Low; filter and 3 pages of 2 agree"


async def _flow(lnsp: Lnsp) -> dict[str, Any]:
    response = await lnsp.client.http.get(f"{FLOW}/pqd", headers=lnsp.client.headers())
    return dict(expect_status(response, 200, "GET flow control").json()["data"])


async def _settled(lnsp: Lnsp, status: str, count: int, pending: int) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        view = await _flow(lnsp)
        got = (view["messageStatus"], view["messageCount"], view["pendingCount"])
        check(got == (status, count, pending), f"flow control {got}, expected {(status, count, pending)}")
        return view

    return await eventually(probe, within=20.0, every=0.5)


async def delete_at_high_watermark(stage: Stage) -> str:
    """Watermarks 2/3/4: six messages fill the queue to High (Stopped, two pending, none refused); deleting stays
    Stopped down to Low, and below it the two held messages enter (Warned at 3); emptying makes it Operational."""
    mc, lnsp = await stage.sender("MC"), await stage.lnsp()
    await stage.cast.set_watermarks(lnsp.participant_id, 2, 3, 4)
    async with listening(lnsp.client) as events:
        sent = [await mc.send([lnsp.participant_id], "Medium") for _ in range(6)]
        await _settled(lnsp, "Stopped", 4, 2)
        await events.wait_for(lambda f: f.get("eventType") == "flowControl" and f.get("messageStatus") == "Stopped")
        queued = [item["messageContextId"] for item in await lnsp.listed()]
        check(queued == [m.context_id for m in sent[:4]], f"the first four queued, got {queued}")
        for left, context_id in zip((3, 2), queued[:2], strict=True):
            await lnsp.take(context_id, mc.participant_id)
            await _settled(lnsp, "Stopped", left, 2)  # hysteresis: Stopped until below Low
        await lnsp.take(queued[2], mc.participant_id)
        await _settled(lnsp, "Warned", 3, 0)
        released = [m.context_id for m in sent[4:]]
        await events.wait_for(lambda _f: set(released) <= set(events.available()))
        check(events.available() == [m.context_id for m in sent], "announced out of submission order")
        drained = await lnsp.drain()
        check(drained == 3, f"drained {drained}, expected 3")
        await _settled(lnsp, "Operational", 0, 0)
        statuses = [f["messageStatus"] for f in events.frames if f.get("eventType") == "flowControl"]
    return f"Stopped at High with 2 pending, released below Low; transitions {' → '.join(statuses)}"


async def manual_stop_on_off(stage: Stage) -> str:
    """The LNSP stops delivery by hand: messages wait (none announced); starting again releases them in
    priority order; the participant status history records the stop and the start."""
    mc, lnsp = await stage.sender("MC"), await stage.lnsp()
    async with listening(lnsp.client) as events:
        stop = await lnsp.client.http.patch(f"{FLOW}/pqd", json={"messageDelivery": "Stopped"},
                                            headers=lnsp.client.headers())  # fmt: skip
        check(expect_status(stop, 200, "manual stop").json()["data"]["manualStop"] is True, "manualStop after stop")
        low = await mc.send([lnsp.participant_id], "Low")
        high = await mc.send([lnsp.participant_id], "High")
        await _settled(lnsp, "Operational", 0, 2)
        check(events.available() == [], "a held message was announced")
        start = await lnsp.client.http.patch(f"{FLOW}/pqd", json={"messageDelivery": "Started"},
                                             headers=lnsp.client.headers())  # fmt: skip
        check(expect_status(start, 200, "manual start").json()["data"]["manualStop"] is False, "manualStop after")
        await events.wait_for(lambda _f: len(events.available()) >= 2)
        check(events.available() == [high.context_id, low.context_id], "released out of priority order")
    await _settled(lnsp, "Operational", 2, 0)
    history = await lnsp.client.http.get(
        f"/idx/v1/participantStatus/history?participantId={lnsp.participant_id}&businessFunctionId=pqd",
        headers=lnsp.client.headers(),
    )
    rows = expect_status(history, 200, "participant status history").json()["data"]
    check([row["manualStop"] for row in rows][-2:] == [True, False], f"history {rows}")
    return "held 2 while stopped, released High then Low on start; history shows both switches"


async def meter_churn(stage: Stage) -> str:
    """An NMI's MDP changes on 10 July: the old MDP sends for the days before, the new one for the days after,
    both on the day of the change; each is refused for the other's days."""
    old, new, lnsp = await stage.sender("MDP"), await stage.sender("MDP"), await stage.lnsp()
    mc = await stage.sender("MC")
    nmi = f"6102{secrets.randbelow(1_000_000):06d}"
    for mdp, since in ((old, "2026-07-01"), (new, "2026-07-10")):
        record = {"nmi": nmi, "mc": mc.participant_id, "mdp": mdp.participant_id, "lnsp": lnsp.participant_id,
                "fromDate": since}  # fmt: skip
        response = await stage.cast.admin_post("/admin/v1/nmis", record)
        expect_status(response, 201, f"POST /admin/v1/nmis from {since}")
    cases = [(old, "2026-07-05", 200), (new, "2026-07-05", 422), (old, "2026-07-10", 200), (new, "2026-07-10", 200),
             (new, "2026-07-12", 200), (old, "2026-07-12", 422)]  # fmt: skip
    for mdp, day, status in cases:
        body = mdp.body([lnsp.participant_id], "Medium", reading_date=day, nmi=nmi)
        response, _, _ = await mdp.send_body(body, "Medium")
        who = "old" if mdp is old else "new"
        expect_status(response, status, f"the {who} MDP sending {nmi} for {day}")
        if status == 422:
            fields = [str(e.get("field")) for e in response.json().get("errors", [])]
            check(any("nmiDetails[0]" in f for f in fields), f"the refusal names {fields}")
    accepted = sum(1 for _, _, status in cases if status == 200)
    await eventually(lambda: _queue_holds(lnsp, accepted))
    return f"{accepted} accepted on the responsible days, 2 refused on the other MDP's days"


async def _queue_holds(lnsp: Lnsp, count: int) -> list[dict[str, Any]]:
    listed = await lnsp.listed()
    check(len(listed) == count, f"queue holds {len(listed)}, expected {count}")
    return listed


async def recall_plans(stage: Stage) -> str:
    """A generator submits a recall plan for its DUID; the operator's queue receives it."""
    generator = await _generator(stage)
    response = await generator.submit_recall_plan("2026-08-01", "2026-08-07")
    data = expect_status(response, 200, "submitRecallPlan").json()
    data = data.get("data", data)
    check(data.get("SuccessFlag") is True, f"submitRecallPlan answered {data}")
    expect_status(await generator.list_recall_plans(), 200, "listRecallPlans")
    await eventually(partial(_operator_received, stage, "gr", "recall", generator.client.participant_id))
    return f"recall plan accepted ({data.get('VersionDateTime')}) and delivered to the operator's gr/recall queue"


async def energy_bids(stage: Stage) -> str:
    """A generator submits a day's energy bid (288 periods); the answer carries its version."""
    generator = await _generator(stage)
    reference = f"SIM-{secrets.token_hex(4)}"
    response = await generator.submit_bids("2026-08-01", reference)
    data = expect_status(response, 200, "submitBids").json()["data"]
    check(data.get("referenceId") == reference, f"submitBids answered {data}")
    await eventually(partial(_operator_received, stage, "bid", "energy", generator.client.participant_id))
    return f"bid {reference} accepted ({data.get('energyBids')}) and delivered to the operator's bid/energy queue"


async def _operator_received(stage: Stage, bf: str, resource: str, sender: str) -> None:
    """The operator's queue of `bf`/`resource` holds a message from `sender`."""
    operator = stage.cast.operator
    response = expect_status(await operator.list_queue(bf, resource, itemCount=500), 200, f"GET /{bf}/v1/{resource}")
    senders = {item["initiatingParticipantId"] for item in response.json()["data"]}
    check(sender in senders, f"the operator's {bf}/{resource} queue holds nothing from {sender}")


async def _generator(stage: Stage) -> Any:
    from simulators.participants import Generator

    client = await stage.cast.new("SGEN", ["GENERATOR"], GENERATOR_SCOPES, enrol=False)
    duid = f"D{secrets.token_hex(3).upper()}"
    body = {"duid": duid, "participantId": client.participant_id, "stationId": "SIMSTN", "maxCapacityMW": 500.0}
    expect_status(await stage.cast.admin_post("/admin/v1/duids", body), 201, "POST /admin/v1/duids")
    return Generator(client, duid)


async def prudential(stage: Stage) -> str:
    """The operator publishes two simulated days of prudential figures (noon, then hourly updates) for two
    market participants: each sees only its own latest figures, and asking for the other's is refused."""
    from simulators.prudential import PrudentialProducer, operator_signs

    participants = [await stage.cast.new("SMP", ["MP"], ["PRUDENTIAL"], enrol=False) for _ in range(2)]
    await operator_signs(stage.cast.operator)
    producer = PrudentialProducer(stage.cast.operator, [p.participant_id for p in participants])
    await producer.run(days=2, hourly_updates=3)
    for client, other in zip(participants, reversed(participants), strict=True):
        path = "/prudential/api/v1/prudential/summary/latest"
        response = expect_status(await client.http.get(path, headers=client.headers()), 200, f"GET {path}")
        shown, own = response.json()["data"], producer.latest[client.participant_id]
        check(shown["participantId"] == client.participant_id, f"{client.participant_id} was shown {shown}")
        for name in ("outstandingAmount", "tradingMargin"):
            same = Decimal(str(shown[name])) == Decimal(own[name])
            check(same, f"{name} {shown[name]} is not the last published {own[name]}")
        foreign = await client.http.get(path, params={"participantId": other.participant_id}, headers=client.headers())
        expect_status(foreign, 403, f"{client.participant_id} asking for {other.participant_id}'s figures")
        # Every publication about it and none about the other, once delivery has caught up.
        await eventually(partial(_queue_count, client, producer.counts[client.participant_id]))
    return f"{producer.published} publications; each participant sees only its own latest figures"


async def _queue_count(client: Any, expected: int) -> None:
    queued = expect_status(await client.list_queue("prud", "daily", itemCount=500), 200, "GET /prud/v1/daily")
    count = len(queued.json()["data"])
    check(count == expected, f"{client.participant_id}'s prud/daily queue holds {count}, not {expected}")


async def market_day(stage: Stage) -> str:
    """Steady load: MCs and MDPs send realistic BPQD at a steady rate while LNSPs react to `messageAvailable`,
    verify and delete; every accepted message reaches its LNSP exactly once and every queue ends empty."""
    duration = float(stage.options.get("duration", 20.0))
    rate = float(stage.options.get("rate", 2.0))
    nmis = int(stage.options.get("nmis", 2))
    senders = [await stage.sender(role) for role in ("MC", "MDP", "MC", "MDP")]
    lnsps = [await stage.lnsp() for _ in range(3)]
    stop = asyncio.Event()
    accepted: dict[str, str] = {}
    async with listening(lnsps[0].client) as e0, listening(lnsps[1].client) as e1, listening(lnsps[2].client) as e2:
        reactors = [
            asyncio.create_task(lnsp.react(events, stop)) for lnsp, events in zip(lnsps, (e0, e1, e2), strict=True)
        ]
        try:
            await _steady_load(stage, senders, lnsps, accepted, duration, rate, nmis)

            async def all_received() -> None:
                for task in reactors:
                    if task.done() and task.exception():
                        raise CheckFailedError(f"an LNSP failed: {task.exception()}")
                received = sum(len(lnsp.received) for lnsp in lnsps)
                check(received >= len(accepted), f"{received} of {len(accepted)} received")

            await eventually(all_received, within=30.0, every=0.2)
            stop.set()
            await asyncio.gather(*reactors)
        finally:
            for task in reactors:
                task.cancel()
            await asyncio.gather(*reactors, return_exceptions=True)
    got = [(d.context_id, lnsp.participant_id) for lnsp in lnsps for d in lnsp.received]
    check(len(got) == len(set(got)) == len(accepted), "a message was received twice")
    check(dict(got) == accepted, "a message reached the wrong LNSP")
    for lnsp in lnsps:
        await eventually(partial(_queue_holds, lnsp, 0))
    late = [wait for lnsp in lnsps for wait in lnsp.late_reads]
    note = ""
    if late:
        note = (
            f"; {len(late)} GETs after messageAvailable first answered 404 (readable ≤ {max(late) * 1000:.0f} ms later)"
        )
    return f"{len(accepted)} messages in {duration:.0f}s, each verified and deleted once; queues empty{note}"


async def _steady_load(
    stage: Stage,
    senders: list[Sender],
    lnsps: list[Lnsp],
    accepted: dict[str, str],
    duration: float,
    rate: float,
    nmis: int,
) -> None:
    total = max(1, round(duration * rate))
    loop = asyncio.get_running_loop()
    start = loop.time()
    for index in range(total):
        await asyncio.sleep(max(0.0, start + index / rate - loop.time()))
        sender, lnsp = senders[index % len(senders)], lnsps[index % len(lnsps)]
        sent = await sender.send([lnsp.participant_id], ("High", "Medium", "Low")[index % 3], PayloadShape(nmis))
        accepted[sent.context_id] = lnsp.participant_id
        stage.progress("market day", index + 1, total)


async def ssm_schedules(stage: Stage) -> str:
    """The operator's scheduler publishes three runs 5 minutes apart: each provider receives only its own DUIDs'
    rows, every recipient (both generators and a TNSP) the region rows, and the later run wins per interval."""
    from simulators.ssm import SSM_SCOPES, Scheduler

    publisher = await stage.cast.new("SOP", ["OPERATOR"], SSM_SCOPES)
    providers = [await stage.cast.new("SGEN", ["GENERATOR"], SSM_SCOPES, enrol=False) for _ in range(2)]
    tnsp = await stage.cast.new("STN", ["TNSP"], SSM_SCOPES, enrol=False)
    owners = {}
    for provider in providers:
        duid = f"D{secrets.token_hex(3).upper()}"
        owners[duid] = provider.participant_id
        body = {"duid": duid, "participantId": provider.participant_id, "stationId": "SIMSTN", "maxCapacityMW": 500.0}
        expect_status(await stage.cast.admin_post("/admin/v1/duids", body), 201, "POST /admin/v1/duids")
    first = datetime.fromisoformat("2026-10-28T04:00:00+10:00")
    await Scheduler(publisher, owners).runs(first, 3)
    sender = publisher.participant_id
    for provider in providers:
        own = {duid for duid, owner in owners.items() if owner == provider.participant_id}
        rows = await _ssm_rows(provider, "duid", sender, 3)
        check({row["duid"] for row in rows} == own, f"{provider.participant_id} received rows of other DUIDs")
    for recipient in (*providers, tnsp):
        rows = await _ssm_rows(recipient, "region", sender, 3)
        check(len({row["regionId"] for row in rows}) == 5, f"{recipient.participant_id} lacks a region's rows")
    duid, owner = next(iter(owners.items()))
    client = next(p for p in providers if p.participant_id == owner)
    answer = await client.http.get("/ssm/v1/schedules/duid", params={"duid": duid}, headers=client.headers())
    schedule = expect_status(answer, 200, "GET /ssm/v1/schedules/duid").json()["data"]
    runs = {row["intervalDateTime"][11:16]: row["runDateTime"][11:16] for row in schedule}
    check(runs.get("04:00") == "04:00" and runs.get("04:05") == "04:05", f"early intervals kept their runs: {runs}")
    check(all(run == "04:10" for interval, run in runs.items() if interval >= "04:10"), f"latest run wins: {runs}")
    other = next(d for d, o in owners.items() if o != owner)
    hidden = await client.http.get("/ssm/v1/schedules/duid", params={"duid": other}, headers=client.headers())
    expect_status(hidden, 404, "another provider's DUID schedule")
    return (
        f"3 runs: each provider got only its DUID's rows, 3 recipients the region rows; latest run in each of "
        f"{len(runs)} intervals"
    )


async def _ssm_rows(client: Any, resource: str, sender: str, count: int) -> list[dict[str, Any]]:
    """The rows of the `count` rolls from `sender` in the client's ssm queue of `resource`, once all arrived."""

    async def arrived() -> list[dict[str, Any]]:
        listed = expect_status(await client.list_queue("ssm", resource, itemCount=500), 200, "ssm queue").json()
        items = [item for item in listed["data"] if item["initiatingParticipantId"] == sender]
        check(len(items) == count, f"{client.participant_id}'s ssm/{resource} queue holds {len(items)} of {count}")
        return list(items)

    rows = []
    for item in await eventually(arrived):
        fetched = expect_status(await client.fetch(item["messageContextId"], "ssm", resource), 200, "ssm roll")
        rows += [row for t in json.loads(fetched.content)["data"]["transactions"] for row in t["rows"]]
    return rows


SCENARIOS: dict[str, Scenario] = {
    "submit-and-verify-format": submit_and_verify_format,
    "metadata": metadata,
    "list-by-priority": list_by_priority,
    "delete-at-high-watermark": delete_at_high_watermark,
    "manual-stop-on-off": manual_stop_on_off,
    "meter-churn": meter_churn,
    "recall-plans": recall_plans,
    "energy-bids": energy_bids,
    "prudential": prudential,
    "ssm-schedules": ssm_schedules,
    "market-day": market_day,
}


@dataclass
class Outcome:
    name: str
    status: str  # passed | failed | skipped (not served)
    seconds: float
    detail: str


async def run_scenario(name: str, stage: Stage) -> Outcome:
    loop = asyncio.get_running_loop()
    start = loop.time()
    try:
        detail = await SCENARIOS[name](stage)
        status = "passed"
    except NotServedError as error:
        status, detail = "skipped (not served)", str(error)
    except Exception as error:  # a scenario's failure is its outcome, whatever raised it
        status, detail = "failed", f"{type(error).__name__}: {error}"
    return Outcome(name, status, loop.time() - start, detail)
