"""Prudential publications on the in-memory exchange: the operator publishes through the signed POST, and each
participant's web services answer with its own latest figures only."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import zipfile
from decimal import Decimal
from typing import Any

import pytest

from exchange.bootstrap import Services
from exchange.functions.prud import plugin
from exchange.functions.prud.sample import credit_body, daily_body
from exchange.functions.services import Answer, Call
from exchange.kernel.errors import InvalidError, NotAcceptableError, NotFoundError, RefusedError
from exchange.services.submit import Receipt, SubmissionRequest
from tests.unit.services.conftest import Market, Member, use_case_fixture

BASE = "/prudential/api/v1/prudential"


class Prudential:
    """The operator and two market participants, publications through the use cases, and the web services."""

    def __init__(self, market: Market, services: Services, operator: Member, mp1: Member, mp2: Member) -> None:
        self.market, self.services = market, services
        self.operator, self.mp1, self.mp2 = operator, mp1, mp2
        self.handlers = {op.path: op.handler for op in plugin.operations(services.plugin_services)}
        self._numbers = 0

    async def publish(self, body: bytes, resource: str = "daily") -> Receipt:
        self._numbers += 1
        request = SubmissionRequest(
            business_function_id="prud",
            resource_id=resource,
            initiating_participant_id=self.operator.participant_id,
            message_context_id=f"prud~{resource}~m~{self.operator.participant_id}~p{self._numbers}",
            signature=self.operator.sign(body),
            schema_version=None,
            body=body,
        )
        submissions = self.services.submissions
        prepared = await asyncio.to_thread(submissions.prepare, self.operator.principal, request)
        return prepared if isinstance(prepared, Receipt) else await submissions.record(prepared)

    def daily(self, member: Member, **options: Any) -> bytes:
        return daily_body(self.operator.participant_id, [member.participant_id], **options)

    async def ask(self, member: Member, path: str, accept: str | None = None, **query: str) -> Answer:
        roles = frozenset({"OPERATOR"}) if member is self.operator else frozenset({"MP"})
        headers = {"accept": accept} if accept else {}
        return await self.handlers[path](Call(member.participant_id, roles, b"", query, headers))


@use_case_fixture
async def prudential(market: Market, services: Services) -> Prudential:
    operator = await market.participant("OPER", ["OPERATOR"])
    mp1 = await market.participant("MPA", ["MP"], enrol=False)
    mp2 = await market.participant("MPB", ["MP"], enrol=False)
    return Prudential(market, services, operator, mp1, mp2)


def data_of(answer: Answer) -> Any:
    return json.loads(answer.body)["data"]


async def test_each_participant_sees_its_own_latest_figures_and_not_the_others(prudential: Prudential) -> None:
    """Daily figures published for two participants: each summary/latest answers with the caller's own."""
    first, second = prudential.daily(prudential.mp1, seed=1), prudential.daily(prudential.mp2, seed=2)
    await prudential.publish(first)
    await prudential.publish(second)
    for member, body in ((prudential.mp1, first), (prudential.mp2, second)):
        published = json.loads(body)["data"]["transactions"][0]["parameters"]
        summary = data_of(await prudential.ask(member, f"{BASE}/summary/latest"))
        assert summary["participantId"] == member.participant_id
        assert Decimal(str(summary["outstandingAmount"])) == Decimal(str(published["outstandingAmount"]))
        assert Decimal(str(summary["tradingMargin"])) == Decimal(str(published["tradingMargin"]))


async def test_a_later_hourly_update_replaces_the_days_figures(prudential: Prudential) -> None:
    """The invoiced-not-paid and prepayments of the hourly update are what the services answer afterwards."""
    await prudential.publish(prudential.daily(prudential.mp1, invoiced_not_paid=Decimal("1000.00")))
    await prudential.publish(prudential.daily(prudential.mp1, invoiced_not_paid=Decimal("2500.50")))
    day = data_of(await prudential.ask(prudential.mp1, BASE, asAtDate="2026-07-01"))
    assert Decimal(str(day["invoicedNotPaid"])) == Decimal("2500.50")


async def test_a_participant_without_figures_finds_none_of_another_participants(prudential: Prudential) -> None:
    """Only MP1's figures are published: MP2 is answered 404, and naming MP1 is refused."""
    await prudential.publish(prudential.daily(prudential.mp1))
    with pytest.raises(NotFoundError):
        await prudential.ask(prudential.mp2, f"{BASE}/summary/latest")
    with pytest.raises(RefusedError):
        await prudential.ask(prudential.mp2, f"{BASE}/summary/latest", participantId=prudential.mp1.participant_id)


async def test_the_operator_reads_a_named_participants_figures(prudential: Prudential) -> None:
    """The operator asks with participantId and gets that participant's figures."""
    await prudential.publish(prudential.daily(prudential.mp2))
    summary = data_of(
        await prudential.ask(prudential.operator, f"{BASE}/summary/latest", participantId=prudential.mp2.participant_id)
    )
    assert summary["participantId"] == prudential.mp2.participant_id


async def test_a_trading_margin_a_cent_off_is_refused_naming_the_field(prudential: Prudential) -> None:
    """tradingMargin must be tradingLimit - outstandingAmount exactly: one cent more is a 422 on that field."""
    envelope = json.loads(prudential.daily(prudential.mp1))
    parameters = envelope["data"]["transactions"][0]["parameters"]
    parameters["tradingMargin"] = str(Decimal(str(parameters["tradingMargin"])) + Decimal("0.01"))
    with pytest.raises(InvalidError) as refused:
        await prudential.publish(json.dumps(envelope).encode())
    assert [e.field for e in refused.value.errors] == ["data.transactions[0].parameters.tradingMargin"]


async def test_an_outstanding_amount_that_is_not_the_sum_is_refused(prudential: Prudential) -> None:
    """outstandingAmount must be exposure + invoiced not paid - prepayments; the margin is then not judged."""
    envelope = json.loads(prudential.daily(prudential.mp1))
    parameters = envelope["data"]["transactions"][0]["parameters"]
    parameters["prepayments"] = str(Decimal(str(parameters["prepayments"])) + 1)
    with pytest.raises(InvalidError) as refused:
        await prudential.publish(json.dumps(envelope).encode())
    assert [e.field for e in refused.value.errors] == ["data.transactions[0].parameters.outstandingAmount"]


async def test_figures_about_one_participant_sent_to_another_are_refused(prudential: Prudential) -> None:
    """parameters.participantId must be the one receiver of the publication."""
    envelope = json.loads(prudential.daily(prudential.mp1))
    envelope["data"]["header"]["receivingParticipantId"] = [prudential.mp2.participant_id]
    with pytest.raises(InvalidError) as refused:
        await prudential.publish(json.dumps(envelope).encode())
    assert [e.field for e in refused.value.errors] == ["data.transactions[0].parameters.participantId"]


async def test_the_summary_file_and_the_detailed_zip_answer_their_accept(prudential: Prudential) -> None:
    """text/csv gives the summary CSV, application/zip one CSV per market and trading day; other types 406."""
    await prudential.publish(prudential.daily(prudential.mp1, exposed_days=2))
    summary = await prudential.ask(prudential.mp1, BASE, "text/csv")
    assert summary.media_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(summary.body.decode())))
    assert {row["market"] for row in rows} == {"STEM", "Non-STEM"}
    assert all(row["participantId"] == prudential.mp1.participant_id for row in rows)
    # Named as AEMO's guide shows: PARTYX_20200702_FORECAST_2020070223004523.csv
    filename = rf'attachment; filename="{prudential.mp1.participant_id}_20260701_CURRENT_\d{{16}}\.csv"'
    assert re.fullmatch(filename, summary.headers["Content-Disposition"])
    detailed = await prudential.ask(prudential.mp1, BASE, "application/zip")
    names = zipfile.ZipFile(io.BytesIO(detailed.body)).namelist()
    stem = f"{prudential.mp1.participant_id}_20260701_CURRENT"
    assert sorted(names) == sorted(
        f"{stem}_{market}_{day}.csv" for market in ("STEM", "NONSTEM") for day in ("20260629", "20260630")
    )
    with pytest.raises(NotAcceptableError):
        await prudential.ask(prudential.mp1, BASE, "application/xml")


async def test_credit_support_shows_the_latest_instruments_and_limits(prudential: Prudential) -> None:
    """A credit publication is read back whole, with the credit limit in force by the exchange's clock."""
    body = credit_body(prudential.operator.participant_id, [prudential.mp1.participant_id], start="2020-01-01")
    await prudential.publish(body, "credit")
    credit = data_of(await prudential.ask(prudential.mp1, "/prudential/api/v1/creditsupport"))
    assert {i["status"] for i in credit["instruments"]} == {"Executed", "Returned"}
    assert credit["currentCreditLimit"]["effectiveDate"] == "2020-05-30"
