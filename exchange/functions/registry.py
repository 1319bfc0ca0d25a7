"""Business functions found through the entry-point group `exchange.functions`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points

from exchange.functions.protocol import BusinessFunction, Resource

ENTRY_POINT_GROUP = "exchange.functions"


class UnknownFunctionError(LookupError):
    pass


class Registry:
    """The business functions this exchange serves, by id."""

    def __init__(self, functions: Iterable[BusinessFunction]) -> None:
        self._functions: dict[str, BusinessFunction] = {}
        for function in functions:
            if function.id in self._functions:
                raise ValueError(f"two business functions claim the id {function.id!r}")
            self._functions[function.id] = function

    @classmethod
    def from_entry_points(cls) -> Registry:
        return cls(entry.load() for entry in entry_points(group=ENTRY_POINT_GROUP))

    def __iter__(self) -> Iterator[BusinessFunction]:
        return iter(sorted(self._functions.values(), key=lambda f: f.id))

    def function(self, function_id: str) -> BusinessFunction:
        function = self._functions.get(function_id)
        if function is None:
            raise UnknownFunctionError(f"{function_id} is not a business function")
        return function

    def resource(self, function_id: str, resource_id: str) -> tuple[BusinessFunction, Resource]:
        function = self._functions.get(function_id)
        if function is not None:
            for resource in function.resources:
                if resource.id == resource_id:
                    return function, resource
        raise UnknownFunctionError(f"{function_id}/{resource_id} is not a business function resource")

    def receiver_functions(self, roles: frozenset[str]) -> list[BusinessFunction]:
        """Functions with a resource that a participant of these roles can receive."""
        return [f for f in self if any(r.receiver_roles & roles for r in f.resources)]
