"""Generator recall plans: the `gr` business function, its resource `recall` and the AEMO web services.

Registered under the entry-point group `exchange.functions` as `exchange.functions.recall:plugin`.
"""

from __future__ import annotations

from exchange.functions.recall.function import RECALL_RESOURCE, GeneratorRecall

plugin = GeneratorRecall()

__all__ = ["RECALL_RESOURCE", "GeneratorRecall", "plugin"]
