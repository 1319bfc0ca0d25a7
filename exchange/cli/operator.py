"""The operator's client secret, as the commands that act for the operator find it."""

from __future__ import annotations

from pathlib import Path

import click


def read_operator_secret(given: str | None, data_dir: Path | None, *, missing: str) -> str:
    """The secret given on the command line, else the one `idx serve` wrote to DATA_DIR/operator.secret.

    `missing` is the usage error when neither is given: it names the command's own options.
    """
    if given:
        return given
    if data_dir is None:
        raise click.UsageError(missing)
    try:
        return (data_dir / "operator.secret").read_text().strip()
    except OSError as error:
        raise click.UsageError(f"cannot read the operator secret: {error}") from error
