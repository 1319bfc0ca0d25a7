"""What the bundled business functions share, written once: the sample, the queue's room, the operations' hold on
the core, the role check and the retry of a commit that lost a race.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

import msgspec

from exchange.functions.errors import FieldError, OperationRefusedError, RuleViolationError
from exchange.functions.protocol import (
    Acceptance,
    GeneratingUnitInfo,
    Resource,
    SampleMaker,
    StandingData,
    Submission,
    Watermarks,
)
from exchange.functions.services import Call, Outbound, PluginServices
from exchange.kernel.errors import ConcurrencyError

T = TypeVar("T")

# The market operator's role, and the participant id of its queue.
OPERATOR = "OPERATOR"

# Two submissions for the same aggregate at once: the loser of the commit reads the winner's and tries again.
COMMIT_ATTEMPTS = 5


class SampledFunction:
    """A business function with one sample maker (`idx sample <bf> <resource>`)."""

    sample: ClassVar[SampleMaker]
    # Room for about a day of messages in a recipient's queue; a function that sends more says so.
    watermark_defaults: ClassVar[Watermarks] = Watermarks(low=8000, warn=9000, high=10000)

    def samples(self) -> tuple[SampleMaker, ...]:
        return (self.sample,)


class OperatedFunction(SampledFunction):
    """A function whose messages arrive through its own operations only: the core's generic POST is refused."""

    # The refusal of a generic POST: it names the operation to use instead.
    submitted_with: ClassVar[str]

    def accept(self, submission: Submission, standing: StandingData) -> Acceptance:
        """Never called by the core (the resource does not accept submissions); refuses, naming the operation."""
        raise RuleViolationError([FieldError("data", self.submitted_with)])


def operated_resource(resource_id: str) -> Resource:
    """A resource of an `OperatedFunction`: generators send through the function's operations, for the operator."""
    return Resource(
        id=resource_id,
        schema_versions=("1.0",),
        sender_roles=frozenset({"GENERATOR"}),
        receiver_roles=frozenset({OPERATOR}),
        accepts_submissions=False,
    )


class BoundOperations:
    """A function's operations, bound to the services the core lends.

    Every function that serves operations keeps the one `PluginServices` the core hands it, and asks it for a
    DUID's standing data the same way; said once here, each operations class states only what it adds.
    """

    def __init__(self, services: PluginServices) -> None:
        self._services = services

    async def _unit(self, duid: str) -> GeneratingUnitInfo | None:
        """A DUID's standing data as it stands now (its owner, station and capacity); None for an unknown DUID."""
        return await self._services.standing.generating_unit(duid)


def require_role(call: Call, role: str, refusal: str) -> None:
    """Refuse (403) a caller without the role."""
    if role not in call.roles:
        raise OperationRefusedError(refusal)


async def commit_retrying(commit: Callable[[], Awaitable[T]]) -> T | None:
    """What `commit` returns once it wins against concurrent changes; None when it lost every attempt."""
    for _ in range(COMMIT_ATTEMPTS):
        try:
            return await commit()
        except ConcurrencyError:
            continue
    return None


def to_operator(
    business_function_id: str, resource_id: str, sender: str, priority: str, message_type: str, payload: Any
) -> Outbound:
    """A message of the sender's for the operator's queue, its context id in the usual `bf~resource~p~sender~…`."""
    return Outbound(
        message_context_id=f"{business_function_id}~{resource_id}~{priority[0].lower()}~{sender}~{uuid.uuid4().hex}",
        business_function_id=business_function_id,
        resource_id=resource_id,
        sender_id=sender,
        priority=priority,
        message_type=message_type,
        payload=msgspec.json.encode(payload),
        recipients=[OPERATOR],
    )
