"""Basic Power Quality Data (BPQD): the `pqd` business function and its resource `bpqd`.

Registered under the entry-point group `exchange.functions` as `exchange.functions.bpqd:plugin`.
"""

from __future__ import annotations

from exchange.functions.bpqd.function import BPQD_RESOURCE, MESSAGE_TYPE, BasicPowerQualityData
from exchange.functions.protocol import BusinessFunction

plugin: BusinessFunction = BasicPowerQualityData()

__all__ = ["BPQD_RESOURCE", "MESSAGE_TYPE", "BasicPowerQualityData", "plugin"]
