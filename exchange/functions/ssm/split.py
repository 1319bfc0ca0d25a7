"""A DUID roll as one roll per owner of its DUIDs: what `idx publish` and the simulated scheduler send.

The operator splits its own document before it signs, so each owner gets bytes the operator signed and the exchange
never rewrites a payload. Each piece gets a messageId of its own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

import msgspec


def split_by_owner(body: bytes, owners: Mapping[str, str]) -> list[bytes]:
    """One envelope per owner, holding only its DUIDs' rows (transactions left empty are dropped); ValueError names
    a DUID without an owner."""
    envelope = json.loads(body)
    transactions = envelope["data"]["transactions"]
    by_owner: dict[str, list[list[dict[str, Any]]]] = {}
    for index, transaction in enumerate(transactions):
        for row in transaction["rows"]:
            owner = owners.get(row["duid"])
            if owner is None:
                raise ValueError(f"DUID {row['duid']} has no owner in standing data")
            rows = by_owner.setdefault(owner, [[] for _ in transactions])
            rows[index].append(row)
    bodies = []
    for owner, rows_by_transaction in sorted(by_owner.items()):
        header = {**envelope["data"]["header"], "receivingParticipantId": [owner], "messageId": str(uuid.uuid4())}
        kept = [{**t, "rows": rows} for t, rows in zip(transactions, rows_by_transaction, strict=True) if rows]
        bodies.append(msgspec.json.encode({"data": {"header": header, "transactions": kept}}))
    return bodies
