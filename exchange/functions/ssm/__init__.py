"""System security indicative schedules: the `ssm` business function, its resources `duid` and `region`.

Registered under the entry-point group `exchange.functions` as `exchange.functions.ssm:plugin`.
"""

from __future__ import annotations

from exchange.functions.ssm.function import DUID_RESOURCE, REGION_RESOURCE, SystemSecuritySchedules

plugin = SystemSecuritySchedules()

__all__ = ["DUID_RESOURCE", "REGION_RESOURCE", "SystemSecuritySchedules", "plugin"]
