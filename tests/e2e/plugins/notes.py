"""Notes: a tiny business function that exists only in the test suite.

Authors send short notes to readers in IDX envelopes. Its entity (`NOTE_MEMO`) and its roles (`AUTHOR`,
`READER`) are known to no core module: the exchange learns them from this plugin alone.
"""

from __future__ import annotations

import uuid
from typing import Final

import msgspec

from exchange.functions.conformance import ConformanceSample, envelope_sample
from exchange.functions.envelope import Envelope, refuse_broken, sample_header
from exchange.functions.errors import FieldError, MalformedBodyError, RuleViolationError, field_error_from_msgspec
from exchange.functions.protocol import (
    Acceptance,
    Resource,
    SampleMaker,
    SampleOption,
    StandingData,
    Submission,
    Watermarks,
)

MEMO: Final = Resource(
    id="memo",
    schema_versions=("1.0",),
    sender_roles=frozenset({"AUTHOR"}),
    receiver_roles=frozenset({"READER"}),
)


class Note(msgspec.Struct, rename="camel"):
    text: str


DECODER: Final = msgspec.json.Decoder(Envelope[Note])


def sample_body(sender: str, recipients: list[str], *, text: str = "Hello from the test suite") -> bytes:
    header = sample_header(
        sender, recipients, "note", "memo", message_id=str(uuid.uuid4()), sent="2026-07-01T09:00:00.000+10:00"
    )
    return msgspec.json.encode({"data": {"header": header, "transactions": [{"text": text}]}})


class Notes:
    id: Final = "note"
    name: Final = "Notes"
    entity: Final = "NOTE_MEMO"
    resources: Final = (MEMO,)
    watermark_defaults: Final = Watermarks(low=80, warn=90, high=100)

    def accept(self, submission: Submission, standing: StandingData) -> Acceptance:
        try:
            envelope = DECODER.decode(submission.body)
        except msgspec.ValidationError as error:
            raise RuleViolationError([field_error_from_msgspec(error)]) from error
        except msgspec.DecodeError as error:
            raise MalformedBodyError(f"the body is not JSON: {error}") from error
        header = envelope.data.header
        recipients = tuple(header.receiving_participant_id)
        blank = [
            FieldError(f"data.transactions[{index}].text", "must not be blank")
            for index, note in enumerate(envelope.data.transactions)
            if not note.text.strip()
        ]
        refuse_broken(header, submission, MEMO, standing, recipients, blank)
        return Acceptance(recipients=recipients, message_id=header.message_id, message_type="Note")

    def samples(self) -> tuple[SampleMaker, ...]:
        options = (
            SampleOption("sender", "The author.", required=True),
            SampleOption("recipients", "A reader; repeat for several.", required=True, multiple=True, flag="recipient"),
            SampleOption("text", "What the note says.", default="Hello from the test suite"),
        )
        return (SampleMaker("memo", "Print a note.", options, sample_body),)

    @property
    def conformance(self) -> ConformanceSample:
        return envelope_sample(self, sample_body, DECODER)


plugin = Notes()
