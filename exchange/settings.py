"""Settings of one `idx serve` process, from its options or the `IDX_*` environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    nats_url: str | None = None
    database_url: str | None = None
    rate_limit: int = 50
    daily_quota: tuple[int, int, int] = (180_000, 35_000, 18_000)
    test_clock: bool = False
    demo: bool = False
    certificate_lifetime_days: int = 1095
    certificate_warning_days: int = 30
    housekeeping_interval: float = 10.0
    # Shown on every screen of the web app, so nobody mistakes a test exchange for production.
    environment: str = "Development"
    # Plugins to load besides the installed ones, each named `module:attribute` (IDX_PLUGINS).
    plugins: tuple[str, ...] = ()
