"""Inputs out of range or out of place, over HTTP: an oversized watermark, a cell that a spreadsheet would run
as a formula, a signature without its exact prefix, a reading sent to the wrong network, and the participant list
that grows. Each is refused with a clear 4xx naming what is wrong, and nothing broken is stored."""

from __future__ import annotations

import pytest

from simulators.client import ParticipantClient
from tests.e2e.conftest import Participants
from tests.problems import assert_problem

pytestmark = pytest.mark.e2e


async def test_an_oversized_watermark_is_a_422_and_participant_status_still_answers(
    participants: Participants, operator: ParticipantClient
) -> None:
    """`"high": 99999999999999999999999` is refused naming `high`; status and sane watermarks work afterwards."""
    lnsp = await participants.new("LNSP", ["LNSP"], enrol=False)
    path = f"/admin/v1/participants/{lnsp.participant_id}/flowcontrol/pqd"

    oversized = b'{"low": 1, "warn": 2, "high": 99999999999999999999999}'
    json_headers = operator.headers(**{"Content-Type": "application/json"})
    refused = await operator.http.put(path, content=oversized, headers=json_headers)
    assert_problem(refused, 422, ["high"])

    status = await operator.http.get(
        "/idx/v1/participantStatus", params={"participantId": lnsp.participant_id}, headers=operator.headers()
    )
    assert status.status_code == 200, status.text
    sane = await operator.http.put(path, json={"low": 1, "warn": 2, "high": 3}, headers=operator.headers())
    assert sane.status_code == 200, sane.text
    assert sane.json()["data"]["watermarks"] == {"low": 1, "warn": 2, "high": 3}
