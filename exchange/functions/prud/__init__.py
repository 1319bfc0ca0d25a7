"""WEMS prudential data: the `prud` business function, its resources `daily` and `credit`, and the four web
services of the WEMS Prudential Service.

Registered under the entry-point group `exchange.functions` as `exchange.functions.prud:plugin`.
"""

from __future__ import annotations

from exchange.functions.prud.function import CREDIT_RESOURCE, DAILY_RESOURCE, Prudential

plugin = Prudential()

__all__ = ["CREDIT_RESOURCE", "DAILY_RESOURCE", "Prudential", "plugin"]
