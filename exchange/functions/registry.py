"""Business functions found through the entry-point group `exchange.functions`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from importlib import import_module
from importlib.metadata import entry_points

from exchange.functions.protocol import BusinessFunction, Resource

ENTRY_POINT_GROUP = "exchange.functions"


def load_plugin(name: str) -> BusinessFunction:
    """The plugin object at `module:attribute`, as an entry point names it."""
    module_name, _, attribute = name.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"{name!r} does not name a plugin as module:attribute")
    plugin: BusinessFunction = getattr(import_module(module_name), attribute)
    return plugin


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
    def from_entry_points(cls, extra: Iterable[str] = ()) -> Registry:
        """The installed plugins, and `extra` ones named `module:attribute` (e.g. a plugin not installed)."""
        installed = [entry.load() for entry in entry_points(group=ENTRY_POINT_GROUP)]
        return cls([*installed, *(load_plugin(name) for name in extra)])

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

    def roles(self) -> frozenset[str]:
        """Every role that sends or receives a resource of a registered function."""
        return frozenset(role for f in self for r in f.resources for role in (*r.sender_roles, *r.receiver_roles))

    def receiver_functions(self, roles: frozenset[str]) -> list[BusinessFunction]:
        """Functions with a resource that a participant of these roles can receive."""
        return [f for f in self if any(r.receiver_roles & roles for r in f.resources)]
