"""`POST /bids/v1/submitBids` and `GET /bids/v1/bids`, on the exchange's event store, clock and queues.

An accepted submission makes a new version of each bid (per DUID and trading day) and one message to the
operator's queue (business function `bid`, resource `energy`) carrying them, all in one transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec

from exchange.domain.markettime import market_timestamp
from exchange.functions.base import OPERATOR, BoundOperations, commit_retrying, require_role, to_operator
from exchange.functions.bids.domain import BidVersion, EnergyBidDay
from exchange.functions.bids.rules import first_errors, submission_errors
from exchange.functions.bids.schema import DEFAULT_RECALL_PERIOD, EnergyBid, SubmitBids, read_submission
from exchange.functions.errors import (
    FieldError,
    MalformedBodyError,
    NothingFoundError,
    RuleViolationError,
)
from exchange.functions.services import Answer, Call

MESSAGE_TYPE = "EnergyBid"


class EnergyBids(BoundOperations):
    """The bid operations, bound to the services the core lends."""

    async def submit_bids(self, call: Call) -> Answer:
        """Accept every energy bid of the submission as a new version, or none of them (422 naming the fields)."""
        require_role(call, "GENERATOR", "only a generator submits energy bids")
        submission = read_submission(call.body)
        units = {bid.duid: await self._unit(bid.duid) for bid in submission.energy_bids}
        errors = first_errors(submission_errors(submission, call.participant_id, units))
        if errors:
            raise RuleViolationError(errors)
        # A rebid of the same DUID and day at the same moment: ours is numbered after it.
        recorded = await commit_retrying(lambda: self._record(call.participant_id, submission))
        if recorded is not None:
            return recorded
        raise RuleViolationError([FieldError("energyBids", "the same bids are being changed; submit again")])

    async def bids(self, call: Call) -> Answer:
        """The latest bid of a DUID for a trading day, with the history of its versions."""
        duid, trading_date = call.query.get("duid"), call.query.get("tradingDate")
        if not duid or not trading_date:
            raise MalformedBodyError("the query needs duid and tradingDate")
        try:
            day = date.fromisoformat(trading_date).isoformat()
        except ValueError as error:
            raise MalformedBodyError("tradingDate must be an ISO date (YYYY-MM-DD)") from error
        unit = await self._unit(duid)
        readable = OPERATOR in call.roles or (
            unit is not None and unit.owner_on(date.fromisoformat(day)) == call.participant_id
        )
        day_bids = await self._services.find(EnergyBidDay, EnergyBidDay.create_id(duid, day)) if readable else None
        if day_bids is None:
            raise NothingFoundError(f"no bid of yours for DUID {duid} on {day}")
        return Answer(
            {
                "data": {
                    "duid": duid,
                    "tradingDate": day,
                    "latest": day_bids.latest,
                    "history": day_bids.history,
                }
            }
        )

    async def _record(self, caller: str, submission: SubmitBids) -> Answer:
        version_date_time = market_timestamp(self._services.now())
        days, versions = [], []
        for bid in submission.energy_bids:
            trading_date = bid.trading_date.isoformat()
            day_bids = await self._services.find(EnergyBidDay, EnergyBidDay.create_id(bid.duid, trading_date))
            version = {
                **_stored(bid),
                "version": 1 if day_bids is None else day_bids.next_version,
                "versionDateTime": version_date_time,
                "referenceId": submission.reference_id,
            }
            if day_bids is None:
                day_bids = EnergyBidDay(bid.duid, trading_date, version)
            else:
                day_bids.rebid(version)
            days.append(day_bids)
            versions.append(version)
        payload = {
            "participantId": caller,
            "referenceId": submission.reference_id,
            "comments": submission.comments,
            "authorisedBy": submission.authorised_by,
            "versionDateTime": version_date_time,
            "energyBids": versions,
        }
        # Bids are due before gate closure: the operator reads them first.
        await self._services.deliver(to_operator("bid", "energy", caller, "High", MESSAGE_TYPE, payload), *days)
        accepted = [{"duid": v["duid"], "tradingDate": v["tradingDate"], "version": v["version"]} for v in versions]
        return Answer(
            {
                "data": {
                    "referenceId": submission.reference_id,
                    "versionDateTime": version_date_time,
                    "energyBids": accepted,
                }
            }
        )


def _stored(bid: EnergyBid) -> BidVersion:
    """The bid as kept and delivered: periods in order, an absent recallPeriod as its default of 24000 hours."""
    periods = sorted(
        (
            period
            if period.recall_period is not msgspec.UNSET
            else msgspec.structs.replace(period, recall_period=DEFAULT_RECALL_PERIOD)
            for period in bid.energy_periods
        ),
        key=lambda period: period.period_id,
    )
    stored: dict[str, Any] = msgspec.to_builtins(msgspec.structs.replace(bid, energy_periods=periods))
    return stored
