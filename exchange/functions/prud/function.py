"""WEMS prudential data as a business function: its catalogue entry, the acceptance of a publication, its web
services and screens.

The operator publishes through the generic signed POST to `/prud/v1/daily` and `/prud/v1/credit`; each
publication is about one market participant (role MP) and goes to that participant alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, TypeVar

from exchange.functions.base import OPERATOR
from exchange.functions.conformance import ConformanceSample, envelope_sample
from exchange.functions.envelope import decode_envelope, refuse_broken
from exchange.functions.protocol import (
    Acceptance,
    Resource,
    SampleMaker,
    SampleOption,
    StandingData,
    Submission,
    Watermarks,
)
from exchange.functions.prud.rules import credit_errors, daily_errors, recipient_errors
from exchange.functions.prud.sample import credit_body, daily_body
from exchange.functions.prud.schema import (
    CREDIT_DECODER,
    CREDIT_TYPE,
    DAILY_DECODER,
    DAILY_TYPE,
    ENCODER,
)
from exchange.functions.prud.service import PrudentialQueries
from exchange.functions.services import Operation, PluginServices

if TYPE_CHECKING:
    from exchange.web.pages import PluginScreens, Web

T = TypeVar("T")

# The WEM market participant: the one role that receives prudential data.
MARKET_PARTICIPANT: Final = "MP"
BASE_PATH: Final = "/prudential/api/v1/prudential"
CREDIT_PATH: Final = "/prudential/api/v1/creditsupport"
DAILY_RESOURCE: Final = Resource(
    id="daily",
    schema_versions=("1.0",),
    sender_roles=frozenset({OPERATOR}),
    receiver_roles=frozenset({MARKET_PARTICIPANT}),
)
CREDIT_RESOURCE: Final = Resource(
    id="credit",
    schema_versions=("1.0",),
    sender_roles=frozenset({OPERATOR}),
    receiver_roles=frozenset({MARKET_PARTICIPANT}),
)
_COMMON_OPTIONS = (
    SampleOption("sender", "The operator publishing it.", default=OPERATOR),
    SampleOption(
        "recipients", "The market participant it is about (its one recipient).", required=True, multiple=True,
        flag="recipient",
    ),
    SampleOption("priority", "The message's priority.", default="Medium", choices=("High", "Medium", "Low")),
    SampleOption("seed", "Vary it for other figures.", kind="integer", default=0),
)  # fmt: skip


class Prudential:
    """The `prud` business function: the operator publishes each WEM participant's prudential figures to it."""

    id: Final = "prud"
    name: Final = "WEMS Prudential Monitoring"
    resources: Final = (DAILY_RESOURCE, CREDIT_RESOURCE)
    entity: Final = "PRUDENTIAL"
    # A day's figures and two dozen hourly updates per participant; room for a few days of them unread.
    watermark_defaults: Final = Watermarks(low=200, warn=300, high=400)
    # The web services answer from the publications accepted for a participant.
    listed_messages: Final = ("daily", "credit")

    def samples(self) -> tuple[SampleMaker, ...]:
        return (
            SampleMaker(
                resource_id="daily",
                summary="Print a valid daily prudential publication for one market participant.",
                options=(
                    *_COMMON_OPTIONS,
                    SampleOption("as_at_date", "The date the figures are as at.", default="2026-07-01"),
                    SampleOption(
                        "calculation_type", "Current or Forecast.", default="Current", choices=("Current", "Forecast")
                    ),
                    SampleOption(
                        "exposed_days", "Trading days of detail.", kind="integer", default=3, minimum=1, maximum=60
                    ),
                ),
                make=daily_body,
            ),
            SampleMaker(
                resource_id="credit",
                summary="Print a valid credit support publication (instruments and credit limits).",
                options=(*_COMMON_OPTIONS, SampleOption("start", "The first effective date.", default="2026-01-01")),
                make=credit_body,
            ),
        )

    def accept(self, submission: Submission, standing: StandingData) -> Acceptance:
        """Decode and check a publication; raise MalformedBodyError or RuleViolationError, else accept it."""
        if submission.resource_id == DAILY_RESOURCE.id:
            daily = decode_envelope(submission.body, DAILY_DECODER)
            header, resource, message_type = daily.data.header, DAILY_RESOURCE, DAILY_TYPE
            content_errors = daily_errors(daily.data.transactions, header.receiving_participant_id)
        else:
            credit = decode_envelope(submission.body, CREDIT_DECODER)
            header, resource, message_type = credit.data.header, CREDIT_RESOURCE, CREDIT_TYPE
            content_errors = credit_errors(credit.data.transactions, header.receiving_participant_id)
        recipients = tuple(header.receiving_participant_id)
        refuse_broken(header, submission, resource, standing, recipients, recipient_errors(recipients), content_errors)
        return Acceptance(recipients=recipients, message_id=header.message_id, message_type=message_type)

    @property
    def conformance(self) -> ConformanceSample:
        return envelope_sample(self, daily_body, DAILY_DECODER, encoder=ENCODER)

    def operations(self, services: PluginServices) -> Sequence[Operation]:
        queries = PrudentialQueries(services)
        entity = self.entity
        whose = {"participantId": "The participant whose figures (the operator only; others get their own)."}
        day = {
            **whose,
            "asAtDate": "The as-at date, YYYY-MM-DD (the latest published when absent).",
            "calculationType": "Current (the default) or Forecast.",
        }
        span = {**whose, "fromDate": "The first as-at date, YYYY-MM-DD.", "toDate": "The last as-at date."}
        # Nothing published yet is a 404; a form the Accept header does not take a 406.
        answers = (404, 406)
        return [
            Operation(
                "GET", f"{BASE_PATH}/summary/latest", entity, "The latest outstanding amount and trading margin",
                queries.summary_latest, optional_query=whose, problems=answers,
            ),
            Operation(
                "GET", BASE_PATH, entity,
                "Prudential position as at a date (Accept text/csv: summary file; application/zip: detailed file)",
                queries.prudential, optional_query=day, problems=answers,
            ),
            Operation(
                "GET", f"{BASE_PATH}/detail", entity,
                "Every variable of the outstanding amount calculation (Accept application/zip: detailed file)",
                queries.detail, optional_query=day, problems=answers,
            ),
            Operation(
                "GET", f"{BASE_PATH}/estimation", entity,
                "The inputs of the estimated values (Accept text/csv: estimation file)", queries.estimation,
                optional_query=day, problems=answers,
            ),
            Operation(
                "GET", f"{BASE_PATH}/history", entity,
                "Credit support, trading limit, outstanding amount and trading margin by as-at date",
                queries.history, optional_query=span, problems=answers,
            ),
            Operation(
                "GET", CREDIT_PATH, entity, "Credit support instruments and credit limits", queries.credit_support,
                optional_query=whose, problems=answers,
            ),
        ]  # fmt: skip

    def screens(self, web: Web) -> PluginScreens:
        # Imported here: the screens need the web app, which the rest of the function does without.
        from exchange.functions.prud.web import prudential_screens

        return prudential_screens(web)
