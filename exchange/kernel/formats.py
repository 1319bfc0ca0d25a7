"""The exchange's formats: participant ids, message context ids and priorities, each spelled once."""

from __future__ import annotations

import re
from typing import Literal

Priority = Literal["High", "Medium", "Low"]
# Queues, the delivery gate and the transaction log sort by rank: High first.
PRIORITY_RANK: dict[str, int] = {"High": 0, "Medium": 1, "Low": 2}
# The priority letter inside a messageContextId.
PRIORITY_LETTERS: dict[str, Priority] = {"h": "High", "m": "Medium", "l": "Low"}

_PARTICIPANT = r"[A-Z0-9]{1,10}"
PARTICIPANT_ID = re.compile(rf"^{_PARTICIPANT}$")
# bf~resource~priority~sender~unique, e.g. `pqd~bpqd~h~LNSP1~0001`.
MESSAGE_CONTEXT_ID = re.compile(
    r"^(?P<bf>[0-9a-z]{1,4})~(?P<resource>[0-9a-z]{1,8})~(?P<priority>[hml])~"
    rf"(?P<participant>{_PARTICIPANT})~(?P<unique>[0-9a-z_-]{{1,36}})$"
)
