"""Realistic BPQD bodies for the simulated MCs and MDPs, of a given NMI count or of a wanted size."""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec

from exchange.functions.bpqd.sample import sample_body, sample_envelope
from simulators.figures import ONE_NMI, SMALL_SHAPES, PayloadShape, nearest, nmis_for_size


def bpqd_body(
    sender: str,
    recipients: list[str],
    *,
    priority: str = "Medium",
    shape: PayloadShape = ONE_NMI,
    reading_date: str = "2026-07-01",
    seed: int = 0,
    nmi: str | None = None,
) -> bytes:
    """A valid BPQD envelope as bytes; `nmi` replaces the first NMI (for standing-data scenarios)."""
    options: dict[str, Any] = {
        "priority": priority,
        "nmis": shape.nmis,
        "interval_length": shape.interval_length,
        "reading_date": reading_date,
        "seed": seed,
    }
    if shape.phases == 3 and nmi is None:
        return sample_body(sender, recipients, **options)
    envelope: dict[str, Any] = sample_envelope(sender, recipients, **options)
    for detail in envelope["data"]["transactions"][0]["nmiDetails"]:
        detail["phases"] = detail["phases"][: shape.phases]
    if nmi is not None:
        first = envelope["data"]["transactions"][0]["nmiDetails"][0]
        first["nmi"] = nmi
        first.pop("nmiChecksum", None)  # optional; the sample's would belong to the NMI it replaced
    return msgspec.json.encode(envelope)


@cache
def _layout(sender_len: int, recipient_len: int) -> tuple[int, int]:
    """Bytes one more 5-minute three-phase NMI-day adds, and the envelope's bytes without NMIs."""
    sender, recipient = "S" * sender_len, "R" * recipient_len
    one = len(sample_body(sender, [recipient], nmis=1))
    three = len(sample_body(sender, [recipient], nmis=3))
    per_nmi = (three - one) // 2
    return per_nmi, one - per_nmi


def shape_for_size(target: int, sender: str = "MC1", recipient: str = "LNSP1") -> PayloadShape:
    """The BPQD shape whose body comes nearest to `target` bytes (uncompressed): below one NMI-day it thins
    the day (30-minute intervals, fewer phases), above it adds NMIs."""
    per_nmi, overhead = _layout(len(sender), len(recipient))
    if target >= per_nmi + overhead:
        return PayloadShape(nmis_for_size(target, per_nmi, overhead))
    sizes = [len(bpqd_body(sender, [recipient], shape=shape)) for shape in SMALL_SHAPES]
    sizes.append(per_nmi + overhead)
    index = nearest(sizes, target)
    return SMALL_SHAPES[index] if index < len(SMALL_SHAPES) else PayloadShape(1)
