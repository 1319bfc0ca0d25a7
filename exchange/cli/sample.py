"""`idx sample <bf> <resource> [options]`: valid example messages, made by each registered business function.

`idx sample <resource>` is short for it where only one business function has a resource of that id (so
`idx sample bpqd` still works).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import partial
from typing import Any

import click

from exchange.functions.protocol import BusinessFunction, MakesSamples, SampleMaker, SampleOption
from exchange.functions.registry import Registry

KINDS: dict[str, Any] = {"text": click.STRING, "integer": click.INT, "number": click.FLOAT}


def _registry() -> Registry:
    # `idx sample` knows the plugins `idx serve` would load, installed or named in IDX_PLUGINS.
    return Registry.from_entry_points(os.environ.get("IDX_PLUGINS", "").split())


def _makers(function: BusinessFunction) -> list[SampleMaker]:
    return list(function.samples()) if isinstance(function, MakesSamples) else []


def _option(option: SampleOption) -> click.Option:
    kind = KINDS[option.kind]
    if option.choices:
        kind = click.Choice(option.choices)
    elif option.kind == "integer" and (option.minimum is not None or option.maximum is not None):
        kind = click.IntRange(option.minimum, option.maximum)
    flag = option.flag or option.name.replace("_", "-")
    return click.Option(
        [f"--{flag}", option.name],
        type=kind,
        required=option.required,
        multiple=option.multiple,
        default=option.default,
        show_default=option.default is not None,
        help=option.help,
    )


def _command(name: str, maker: SampleMaker) -> click.Command:
    def make(**options: Any) -> None:
        arguments = {key: list(value) if isinstance(value, tuple) else value for key, value in options.items()}
        sys.stdout.buffer.write(maker.make(**arguments))

    return click.Command(name, callback=make, params=[_option(o) for o in maker.options], help=maker.summary)


class FunctionSamples(click.Group):
    """`idx sample <bf>`: a command per resource the function makes samples of."""

    def __init__(self, function: BusinessFunction) -> None:
        super().__init__(function.id, help=f"Example messages of {function.name}.")
        for maker in _makers(function):
            self.add_command(_command(maker.resource_id, maker))


def _shortcut(function: BusinessFunction, maker: SampleMaker) -> click.Command:
    summary = f"{maker.summary} (short for `idx sample {function.id} {maker.resource_id}`)"
    return _command(maker.resource_id, SampleMaker(maker.resource_id, summary, maker.options, maker.make))


class Samples(click.Group):
    """The functions and (as shortcuts) the resources of the registry, looked up only when `idx sample` runs."""

    def _commands(self) -> dict[str, Callable[[], click.Command]]:
        functions = [f for f in _registry() if _makers(f)]
        found: dict[str, Callable[[], click.Command]] = {f.id: partial(FunctionSamples, f) for f in functions}
        by_resource: dict[str, list[tuple[BusinessFunction, SampleMaker]]] = {}
        for function in functions:
            for maker in _makers(function):
                by_resource.setdefault(maker.resource_id, []).append((function, maker))
        for resource_id, makers in by_resource.items():
            if len(makers) == 1 and resource_id not in found:
                found[resource_id] = partial(_shortcut, *makers[0])
        return found

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self._commands())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self._commands().get(cmd_name)
        return None if command is None else command()


sample = Samples("sample", help="Make valid example messages to try the exchange with: idx sample BF RESOURCE.")
