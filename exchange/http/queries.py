"""Query parameters more than one route takes, named once: the API's camelCase names and their bounds."""

from __future__ import annotations

from typing import Annotated

from litestar.params import QueryParameter

ItemCount = Annotated[int, QueryParameter(name="itemCount", ge=1, le=500)]
FunctionId = Annotated[str | None, QueryParameter(name="businessFunctionId")]
ResourceId = Annotated[str | None, QueryParameter(name="businessFunctionResourceId")]
FromDateTime = Annotated[str | None, QueryParameter(name="fromDateTime")]
ToDateTime = Annotated[str | None, QueryParameter(name="toDateTime")]
ParticipantIdQuery = Annotated[str | None, QueryParameter(name="participantId")]
