"""Names of the event classes the `@event` decorator makes, for followers of the notification log."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate


def event_class(aggregate: type[Aggregate], name: str) -> type[Any]:
    """An event class the `@event` decorator made (static typing cannot see those attributes)."""
    found = getattr(aggregate, name)
    assert isinstance(found, type)
    return found


def topic_of(aggregate: type[Aggregate], name: str) -> str:
    """The stored topic of an aggregate's event, as the notification log filters on it."""
    return f"{aggregate.__module__}:{aggregate.__qualname__}.{name}"
