"""The four web services of the WEMS Prudential Service (AEMO's WEMS guide §3.3), and the queries behind the screens.

Nothing here is stored by the plugin: every answer comes from the publications accepted for the participant,
read back newest first (`PluginServices.accepted`). A participant sees its own figures only; the operator names
the participant it wants with `participantId`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import msgspec

from exchange.functions.base import OPERATOR, BoundOperations
from exchange.functions.errors import NothingFoundError, OperationRefusedError
from exchange.functions.prud import files
from exchange.functions.prud.rules import CALCULATION_TYPES, PARTICIPANT_ID
from exchange.functions.prud.schema import (
    CREDIT_DECODER,
    DAILY_DECODER,
    ENCODER,
    CreditSupport,
    Parameters,
)
from exchange.functions.services import AcceptedMessage, AcceptedQuery, Answer, Call, PluginServices
from exchange.kernel.clock import iso
from exchange.kernel.errors import MalformedError

FUNCTION_ID = "prud"
# How far back a question reads: a year of daily figures with hourly updates, and then some.
MOST_MESSAGES_READ = 10_000
PAGE = 200
# Publications never change, so what was read of one is kept (by messageContextId) for the next question.
CACHED_MESSAGES = 2_000


@dataclass(frozen=True)
class Published:
    """One publication's content and when the exchange accepted it."""

    content: Parameters | CreditSupport
    message: AcceptedMessage


class PrudentialQueries(BoundOperations):
    """What the web services and screens ask of the publications accepted for a participant."""

    def __init__(self, services: PluginServices) -> None:
        super().__init__(services)
        self._read: OrderedDict[str, Sequence[Parameters | CreditSupport]] = OrderedDict()

    # The four web services of AEMO's WEMS Prudential Service.

    async def summary_latest(self, call: Call) -> Answer:
        """The outstanding amount and trading margin of the latest Current calculation (ROPE-1240: never the
        forecast)."""
        files.negotiate(call.headers.get("accept"), (files.JSON,))
        participant = _subject(call)
        async for found in self._daily(participant):
            parameters = _parameters(found)
            if parameters.calculation_type == "Current":
                summary = {
                    "participantId": parameters.participant_id,
                    "asAtDate": parameters.as_at_date,
                    "calculationType": parameters.calculation_type,
                    "outstandingAmount": parameters.outstanding_amount,
                    "tradingMargin": parameters.trading_margin,
                    "publishedDateTime": iso(found.message.received_at),
                }
                return _json({"data": summary})
        raise NothingFoundError(f"no Current prudential figures have been published for {participant}")

    async def prudential(self, call: Call) -> Answer:
        """The day's parameters and settlement statement; the summary file as CSV, the detailed file as zip."""
        kind = files.negotiate(call.headers.get("accept"), (files.JSON, files.CSV, files.ZIP))
        found = await self._asked(call)
        parameters = _parameters(found)
        if kind == files.CSV:
            return _file(files.summary_csv(parameters), files.CSV, files.file_stem(parameters, self._services.now()))
        if kind == files.ZIP:
            return self._detail_zip(parameters)
        view = {name: value for name, value in _view(parameters).items() if name not in ("detail", "estimation")}
        view["publishedDateTime"] = iso(found.message.received_at)
        return _json({"data": view})

    async def detail(self, call: Call) -> Answer:
        """Every input and output variable of the outstanding amount calculation; the detailed file as zip."""
        kind = files.negotiate(call.headers.get("accept"), (files.JSON, files.ZIP, files.CSV))
        parameters = _parameters(await self._asked(call))
        if kind == files.ZIP:
            return self._detail_zip(parameters)
        if kind == files.CSV:
            stem = files.file_stem(parameters, self._services.now(), "DETAIL")
            return _file(files.values_csv(parameters, parameters.detail), files.CSV, stem)
        return _json({"data": _values_view(parameters, "detail")})

    async def estimation(self, call: Call) -> Answer:
        """The inputs of the estimated values; the estimation file as CSV, or a zip of one CSV per market and day."""
        kind = files.negotiate(call.headers.get("accept"), (files.JSON, files.CSV, files.ZIP))
        parameters = _parameters(await self._asked(call))
        stem = files.file_stem(parameters, self._services.now(), "ESTIMATION")
        if kind == files.CSV:
            return _file(files.values_csv(parameters, parameters.estimation), files.CSV, stem)
        if kind == files.ZIP:
            return _file(files.per_day_zip(parameters, parameters.estimation), files.ZIP, stem)
        return _json({"data": _values_view(parameters, "estimation")})

    # For the screens.

    async def history(self, call: Call) -> Answer:
        """The latest Current figures of each as-at date from `fromDate` to `toDate`, oldest first (the chart)."""
        files.negotiate(call.headers.get("accept"), (files.JSON,))
        participant = _subject(call)
        start = _date_query(call, "fromDate") or date.min
        end = _date_query(call, "toDate") or date.max
        days: dict[date, dict[str, Any]] = {}
        async for found in self._daily(participant):
            parameters = _parameters(found)
            day = parameters.as_at_date
            if parameters.calculation_type == "Current" and start <= day <= end and day not in days:
                days[day] = {
                    "asAtDate": day,
                    "creditSupport": parameters.credit_support,
                    "tradingLimit": parameters.trading_limit,
                    "outstandingAmount": parameters.outstanding_amount,
                    "tradingMargin": parameters.trading_margin,
                }
        return _json({"data": [days[day] for day in sorted(days)]})

    async def credit_support(self, call: Call) -> Answer:
        """The latest credit support publication: instruments and credit limits, current and historic."""
        files.negotiate(call.headers.get("accept"), (files.JSON,))
        participant = _subject(call)
        async for found in self._published("credit", participant):
            assert isinstance(found.content, CreditSupport)
            view = _view(found.content)
            view["publishedDateTime"] = iso(found.message.received_at)
            # The credit limit in force applies from its effective date until the next (AEMO's WEMS guide §4.3).
            today = self._services.now().astimezone(files.AWST).date()
            in_force = [limit for limit in found.content.credit_limits if limit.effective_date <= today]
            current = max(in_force, key=lambda limit: limit.effective_date, default=None)
            view["currentCreditLimit"] = _view(current) if current is not None else None
            return _json({"data": view})
        raise NothingFoundError(f"no credit support has been published for {participant}")

    # Reading the publications back.

    async def _asked(self, call: Call) -> Published:
        """The publication the query names (`asAtDate`, `calculationType`), the latest Current one by default."""
        participant = _subject(call)
        as_at = _date_query(call, "asAtDate")
        calculation_type = call.query.get("calculationType", "Current")
        if calculation_type not in CALCULATION_TYPES:
            raise MalformedError(f"calculationType is Current or Forecast, not {calculation_type[:40]!r}")
        async for found in self._daily(participant):
            parameters = _parameters(found)
            if parameters.calculation_type == calculation_type and as_at in (None, parameters.as_at_date):
                return found
        on = f" as at {as_at}" if as_at else ""
        raise NothingFoundError(f"no {calculation_type} prudential figures{on} have been published for {participant}")

    def _detail_zip(self, parameters: Parameters) -> Answer:
        stem = files.file_stem(parameters, self._services.now(), "DETAIL")
        return _file(files.per_day_zip(parameters, parameters.detail), files.ZIP, stem)

    def _daily(self, participant: str) -> AsyncIterator[Published]:
        return self._published("daily", participant)

    async def _published(self, resource: str, participant: str) -> AsyncIterator[Published]:
        """Each publication of the resource for the participant, newest first (within a message, the last)."""
        before: int | None = None
        read = 0
        while read < MOST_MESSAGES_READ:
            page = await self._services.accepted(AcceptedQuery(FUNCTION_ID, resource, participant, before, PAGE))
            for message in page:
                for content in reversed(await self._contents(resource, message)):
                    yield Published(content, message)
            if len(page) < PAGE:
                return
            before, read = page[-1].position, read + len(page)

    async def _contents(self, resource: str, message: AcceptedMessage) -> Sequence[Parameters | CreditSupport]:
        known = self._read.get(message.message_context_id)
        if known is not None:
            self._read.move_to_end(message.message_context_id)
            return known
        payload = await self._services.payload(message.message_context_id)
        contents: list[Parameters | CreditSupport] = []
        if payload is not None:
            # Accepted, so it decodes: the same decoder judged it on the way in.
            if resource == "daily":
                contents = [t.parameters for t in DAILY_DECODER.decode(payload).data.transactions]
            else:
                contents = [t.credit_support for t in CREDIT_DECODER.decode(payload).data.transactions]
        self._read[message.message_context_id] = contents
        if len(self._read) > CACHED_MESSAGES:
            self._read.popitem(last=False)
        return contents


def _subject(call: Call) -> str:
    """Whose figures: the caller's own, or, for the operator, the participant named by `participantId`."""
    named = call.query.get("participantId")
    if named is None or named == call.participant_id:
        return call.participant_id
    if not PARTICIPANT_ID.fullmatch(named):
        raise MalformedError(f"participantId {named[:40]!r} is not a participant id")
    if OPERATOR not in call.roles:
        raise OperationRefusedError("only the operator may ask for another participant's prudential figures")
    return named


def _date_query(call: Call, name: str) -> date | None:
    text = call.query.get(name)
    if text is None or text == "":
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise MalformedError(f"{name} must be a date (YYYY-MM-DD), not {text[:40]!r}") from error


def _parameters(found: Published) -> Parameters:
    assert isinstance(found.content, Parameters)
    return found.content


def _values_view(parameters: Parameters, which: str) -> dict[str, Any]:
    values = parameters.detail if which == "detail" else parameters.estimation
    return {
        "participantId": parameters.participant_id,
        "asAtDate": parameters.as_at_date,
        "calculationType": parameters.calculation_type,
        which: [_view(value) for value in values],
    }


def _view(content: Any) -> Any:
    """A publication's content as JSON-able values under its JSON (camel-case) names, amounts still exact."""
    return msgspec.to_builtins(content, builtin_types=(date, Decimal))


def _json(body: Any) -> Answer:
    # Encoded here so that amounts go out as the exact decimal numbers that were published.
    return Answer(ENCODER.encode(body), media_type=files.JSON)


def _file(content: bytes, media_type: str, stem: str) -> Answer:
    extension = "zip" if media_type == files.ZIP else "csv"
    disposition = f'attachment; filename="{stem}.{extension}"'
    return Answer(content, media_type=media_type, headers={"Content-Disposition": disposition})
