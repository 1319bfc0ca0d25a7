"""Energy bid screens for generators: the latest bid of a DUID for a trading day, its versions, and a grid of the
288 periods to bid or rebid.

Bids are read and written through `GET /bids/v1/bids` and `POST /bids/v1/submitBids`, so AEMO's recall period rules
apply unchanged; a broken rule comes back as a field error that the grid shows at its cell. A blank cell is left
out of the body: a blank recall period is no `recallPeriod` at all, so the default of 24000 hours applies.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from exchange.functions.bids.schema import BANDS, DEFAULT_RECALL_PERIOD, PERIODS_PER_DAY
from exchange.web.api_client import ApiProblemError
from exchange.web.pages import FormData, PluginScreens, Screen, Web, form_text, query_of, typed_number, with_query
from exchange.web.session import Session

ENTITY = "BID_ENERGY"
TEMPLATES = Path(__file__).parent / "templates"
SUBMIT = "/bids/v1/submitBids"
READ = "/bids/v1/bids"
BAND_FIELDS = tuple(f"bandAvail{band}" for band in range(BANDS))
# The grid's columns, in order; the bands are gathered into `bandAvail` for the API.
PERIOD_FIELDS = (
    "maxAvail",
    *BAND_FIELDS,
    "rampUpRate",
    "rampDownRate",
    "pasaAvail",
    "fixedLoad",
    "energyLimit",
    "recallPeriod",
)
PRICE_FIELDS = tuple(f"price{band}" for band in range(BANDS))
NUMBER_FIELDS = ("dailyEnergyConstraint",)
TEXT_FIELDS = ("referenceId", "tradingDate", "duid", "direction", "rebidExplanation", "comments", "authorisedBy")
# Any JSON the API accepts (AEMO leaves its shape to the bidder), edited as JSON text.
JSON_FIELDS = ("fastStartProfile",)
BID_FIELDS = (*TEXT_FIELDS, *NUMBER_FIELDS, *PRICE_FIELDS, *JSON_FIELDS)
# Where the API names a field (energyBids[0].energyPeriods[3].bandAvail[2]), and the grid's name for it (p3.bandAvail2).
_PERIOD_PATH = re.compile(r"^energyBids\[0\]\.energyPeriods\[(\d+)\](?:\.(\w+)(?:\[(\d+)\])?)?$")
_BID_PATH = re.compile(r"^(?:energyBids\[0\]\.)?(\w+)(?:\[(\d+)\])?$")


@dataclass
class BidForm:
    """A bid as the grid holds it: text as typed, so that a refused cell is shown back for correcting."""

    bid: dict[str, str]
    periods: list[dict[str, str]]

    @classmethod
    def blank(cls, duid: str = "", trading_date: str = "") -> BidForm:
        bid = dict.fromkeys(BID_FIELDS, "")
        bid.update(duid=duid, tradingDate=trading_date, direction="GEN")
        return cls(bid, [dict.fromkeys(PERIOD_FIELDS, "") for _ in range(PERIODS_PER_DAY)])

    @classmethod
    def of_version(cls, version: dict[str, Any]) -> BidForm:
        """A rebid of a stored version: its values in every cell, a new reference to be typed."""
        form = cls.blank(str(version.get("duid", "")), str(version.get("tradingDate", "")))
        for name in ("direction", "rebidExplanation", "dailyEnergyConstraint"):
            form.bid[name] = form_text(version.get(name))
        if version.get("fastStartProfile") is not None:
            form.bid["fastStartProfile"] = json.dumps(version["fastStartProfile"])
        for band, price in enumerate(version.get("prices") or []):
            if band < BANDS:
                form.bid[f"price{band}"] = form_text(price)
        for stored in version.get("energyPeriods") or []:
            index = int(stored.get("periodId", 0)) - 1
            if not 0 <= index < PERIODS_PER_DAY:
                continue
            row = form.periods[index]
            for name in PERIOD_FIELDS:
                if name not in BAND_FIELDS:
                    row[name] = form_text(stored.get(name))
            for band, avail in enumerate(stored.get("bandAvail") or []):
                if band < BANDS:
                    row[f"bandAvail{band}"] = form_text(avail)
        return form

    def form_errors(self) -> list[dict[str, str]]:
        """What the grid refuses before sending: a fast start profile that is no JSON has nothing to send."""
        text = self.bid["fastStartProfile"]
        try:
            if text:
                json.loads(text)
        except ValueError as error:
            return [{"field": "fastStartProfile", "message": f"is not JSON: {error}"}]
        return []

    @classmethod
    def of_post(cls, data: dict[str, str]) -> BidForm:
        bid = {name: data.get(name, "").strip() for name in BID_FIELDS}
        periods = [
            {name: data.get(f"p{index}.{name}", "").strip() for name in PERIOD_FIELDS}
            for index in range(PERIODS_PER_DAY)
        ]
        return cls(bid, periods)

    def fill_down(self) -> None:
        """Copy the first period's values into every blank cell of the other periods (a blank stays blank)."""
        first = self.periods[0]
        for row in self.periods[1:]:
            for name, value in first.items():
                if not row[name]:
                    row[name] = value

    def request_body(self) -> dict[str, Any]:
        """The submitBids body: one energy bid; blanks are left out, text that is no number goes as typed."""
        bid: dict[str, Any] = {
            name: self.bid[name] for name in ("tradingDate", "duid", "direction", "rebidExplanation") if self.bid[name]
        }
        bid["prices"] = [typed_number(self.bid[name]) if self.bid[name] else None for name in PRICE_FIELDS]
        if self.bid["dailyEnergyConstraint"]:
            bid["dailyEnergyConstraint"] = typed_number(self.bid["dailyEnergyConstraint"])
        if self.bid["fastStartProfile"]:
            bid["fastStartProfile"] = json.loads(self.bid["fastStartProfile"])
        bid["energyPeriods"] = [_period_body(index, row) for index, row in enumerate(self.periods)]
        body: dict[str, Any] = {"referenceId": self.bid["referenceId"], "energyBids": [bid]}
        body.update({name: self.bid[name] for name in ("comments", "authorisedBy") if self.bid[name]})
        return body


def bid_screens(web: Web) -> PluginScreens:
    """The energy bid screens, in the navigation of those who hold the entity."""
    navigation = [Screen("bids", "Energy bids", "/app/bids", ENTITY)]
    return PluginScreens(bid_handlers(web), TEMPLATES, navigation)


def bid_handlers(web: Web) -> list[Any]:
    async def latest(request: Request[Any, Any, Any], session: Session, duid: str, day: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = await web.api(request).data(
                session, "GET", READ, params={"duid": duid, "tradingDate": day}
            )
        except ApiProblemError as problem:
            if problem.status == 404:
                return None
            raise
        return found

    def grid(
        request: Request[Any, Any, Any],
        session: Session,
        form: BidForm,
        *,
        rebid: bool,
        errors: list[dict[str, Any]] | None = None,
        status_code: int = 200,
    ) -> Template:
        return web.render(
            request,
            "bid_form.html",
            session,
            screen="bids",
            form=form,
            rebid=rebid,
            errors=errors or [],
            field_errors=by_cell(errors or []),
            period_fields=PERIOD_FIELDS,
            bands=BANDS,
            default_recall_period=DEFAULT_RECALL_PERIOD,
            cell_of=cell_of,
            status_code=status_code,
        )

    @get("/bids")
    async def bids(request: Request[Any, Any, Any]) -> Template:
        session = web.session(request, ENTITY)
        chosen = query_of(request, ("duid", "tradingDate"))
        found = None
        if "duid" in chosen and "tradingDate" in chosen:
            found = await latest(request, session, chosen["duid"], chosen["tradingDate"])
        return web.render(
            request,
            "bid_view.html",
            session,
            screen="bids",
            chosen=chosen,
            found=found,
            bands=BANDS,
            done=request.query_params.get("done"),
        )

    @get("/bids/grid")
    async def new(request: Request[Any, Any, Any]) -> Template:
        session = web.session(request, ENTITY)
        chosen = query_of(request, ("duid", "tradingDate"))
        duid, day = chosen.get("duid", ""), chosen.get("tradingDate", "")
        found = await latest(request, session, duid, day) if duid and day else None
        if found is None:
            return grid(request, session, BidForm.blank(duid, day), rebid=False)
        return grid(request, session, BidForm.of_version(found["latest"]), rebid=True)

    @post("/bids")
    async def save(
        request: Request[Any, Any, Any],
        data: FormData,
    ) -> Response[Any] | Template:
        session = web.session(request, ENTITY)
        form = BidForm.of_post(data)
        rebid = data.get("rebid") == "1"
        # Filling down is a round trip of the form itself: no script needed, nothing sent yet.
        if data.get("action") == "fill":
            form.fill_down()
            return grid(request, session, form, rebid=rebid)
        refused = form.form_errors()
        if refused:
            return grid(request, session, form, rebid=rebid, errors=refused, status_code=422)
        try:
            answer = await web.api(request).data(session, "POST", SUBMIT, json=form.request_body())
        except ApiProblemError as problem:
            if problem.status not in (400, 422):
                raise
            errors = problem.errors or [{"field": "", "message": problem.detail}]
            return grid(request, session, form, rebid=rebid, errors=errors, status_code=422)
        [accepted] = answer["energyBids"]
        done = f"Bid version {accepted['version']} of {accepted['duid']} for {accepted['tradingDate']} accepted."
        target = {"duid": accepted["duid"], "tradingDate": accepted["tradingDate"], "done": done}
        return Redirect(with_query("/app/bids", target), status_code=303)

    return [bids, new, save]


def by_cell(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Messages by the grid's name of the field they concern: `p3.recallPeriod`, `price2`, `referenceId`."""
    found: dict[str, list[str]] = {}
    for error in errors:
        found.setdefault(cell_of(str(error.get("field") or "")), []).append(str(error.get("message")))
    return found


def cell_of(path: str) -> str:
    period = _PERIOD_PATH.match(path)
    if period is not None:
        index, name, band = period.groups()
        if name is None:
            return f"p{index}"
        if name == "bandAvail":
            return f"p{index}.bandAvail{band or 0}"
        return f"p{index}.{name}"
    if path == "energyBids[0].energyPeriods":
        return "energyPeriods"
    named = _BID_PATH.match(path)
    if named is not None:
        name, band = named.groups()
        return f"price{band}" if name == "prices" and band is not None else name
    return path


def _period_body(index: int, row: dict[str, str]) -> dict[str, Any]:
    period: dict[str, Any] = {"periodId": index + 1}
    for name, value in row.items():
        # A blank cell is no attribute at all: for recallPeriod, that is what makes its default apply.
        if value and name not in BAND_FIELDS:
            period[name] = typed_number(value)
    bands = [row[name] for name in BAND_FIELDS]
    if any(bands):
        # A blank band is null, which the API names at its cell.
        period["bandAvail"] = [typed_number(value) if value else None for value in bands]
    return period
