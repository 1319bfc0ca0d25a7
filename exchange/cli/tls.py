"""`--ca-file` of the commands that reach a running exchange over HTTPS (the simulators, `idx bench`, `idx certs`)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

# httpx reads it for every client it makes, and the processes a command starts (bench senders) inherit it.
CA_FILE_VARIABLE = "SSL_CERT_FILE"


def _trust(_: click.Context, __: click.Parameter, value: Path | None) -> Path | None:
    if value is not None:
        os.environ[CA_FILE_VARIABLE] = str(value.resolve())
    return value


def ca_file_option(command: F) -> F:
    """`--ca-file FILE`: trust this CA (PEM) for the exchange's HTTPS certificate, instead of the system's."""
    option = click.option(
        "--ca-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        callback=_trust,
        expose_value=False,
        is_eager=True,
        help="Trust this CA (PEM) for an exchange served with --tls-cert, e.g. one with a private CA.",
    )
    return option(command)
