"""Query parameters more than one route takes, named once: the API's camelCase names and their bounds."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

ItemCount = Annotated[int, Parameter(query="itemCount", ge=1, le=500)]
FunctionId = Annotated[str | None, Parameter(query="businessFunctionId")]
ResourceId = Annotated[str | None, Parameter(query="businessFunctionResourceId")]
FromDateTime = Annotated[str | None, Parameter(query="fromDateTime")]
ToDateTime = Annotated[str | None, Parameter(query="toDateTime")]
ParticipantIdQuery = Annotated[str | None, Parameter(query="participantId")]
