"""Signature headers that the unit and the end-to-end signature tests both try, whoever sends and whatever the body."""

from __future__ import annotations

from collections.abc import Awaitable, Callable


def fixed(value: str) -> Callable[[object, object, bytes], Awaitable[str]]:
    """A signature builder that gives `value` as the x-signature header, ignoring the sender, its maker and the body.

    Each layer's builders take its own sender and maker (a client over HTTP, a member of the in-memory market);
    this one uses neither, so one definition serves both tables of refused signatures.
    """

    async def build(sender: object, maker: object, body: bytes) -> str:
        return value

    return build
