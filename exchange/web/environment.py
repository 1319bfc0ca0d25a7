"""The environment the web app shows on every screen, so nobody mistakes a test exchange for production."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Environment:
    name: str

    @property
    def kind(self) -> str:
        """production (grey border), preproduction (green border) or other (amber), as AEMO's portals do."""
        plain = self.name.lower().replace("-", "").replace(" ", "")
        if plain in ("production", "prod"):
            return "production"
        if plain in ("preproduction", "preprod"):
            return "preproduction"
        return "other"
