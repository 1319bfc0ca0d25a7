"""Energy bids: the `bid` business function, its resource `energy` and AEMO's `submitBids`.

Registered under the entry-point group `exchange.functions` as `exchange.functions.bids:plugin`.
"""

from __future__ import annotations

from exchange.functions.bids.function import ENERGY_RESOURCE, EnergyBidding

plugin = EnergyBidding()

__all__ = ["ENERGY_RESOURCE", "EnergyBidding", "plugin"]
