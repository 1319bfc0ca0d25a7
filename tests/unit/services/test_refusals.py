"""What a refused submission keeps for the transaction log: bounded, whatever strings the refused body held."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from exchange.domain.rejections import Rejection
from exchange.domain.topics import topic_of
from exchange.functions.bpqd.sample import sample_envelope
from exchange.kernel.errors import InvalidError
from tests.unit.services.conftest import Market

RECORDED = topic_of(Rejection, "Recorded")


async def test_a_refusal_naming_megabyte_recipients_keeps_and_answers_them_cut_short(market: Market) -> None:
    """Three 1 MB recipients: the error messages and the logged recipients and reason stay small."""
    sender = await market.participant("MC", ["MC"])
    huge = [letter * 1_000_000 for letter in "XYZ"]
    envelope: Any = sample_envelope(sender.participant_id, huge)
    envelope["data"]["header"]["initiatingParticipantId"] = "Q" * 1_000_000
    body = msgspec.json.encode(envelope)
    request = market.request(sender, body)

    with pytest.raises(InvalidError) as refused:
        await asyncio.to_thread(market.services.submissions.prepare, sender.principal, request)
    assert refused.value.errors and all(len(error.message) < 200 for error in refused.value.errors)
    await market.services.submissions.refuse(sender.principal, request, refused.value, 422)

    ledger = market.services.ledger
    [notification] = await asyncio.to_thread(ledger.notifications, 0, 10_000, (RECORDED,))
    rejection = ledger.decode(notification)
    assert [r[0] for r in rejection.recipients] == ["X", "Y", "Z"]
    assert all(len(r) <= 40 for r in rejection.recipients)
    assert len(rejection.reason) <= 2000
