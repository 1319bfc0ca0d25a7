"""The deployment examples in docs/deploy name only what `idx serve` has: its options and its IDX_ variables."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import yaml

from exchange.cli import main
from exchange.settings import Settings, env_var

DEPLOY = Path(__file__).resolve().parents[3] / "docs" / "deploy"


def serve_options() -> set[str]:
    """Every option name of `idx serve`, as `idx serve --help` lists them."""
    serve = main.commands["serve"]
    return {name for param in serve.params if isinstance(param, click.Option) for name in param.opts}


def setting_variables() -> set[str]:
    return {env_var(name) for name in Settings.__dataclass_fields__}


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def test_the_compose_file_is_yaml_with_two_exchanges_three_nats_nodes_and_postgresql() -> None:
    """compose.yaml parses, and runs two idx serve, nats-1..3 and postgres."""
    services = compose()["services"]
    assert {"idx-1", "idx-2", "nats-1", "nats-2", "nats-3", "postgres"} <= set(services)
    for name in ("idx-1", "idx-2"):
        assert services[name]["command"][0] == "serve"


def test_the_compose_file_gives_idx_serve_only_options_and_variables_it_has() -> None:
    """Each --option of the exchanges' commands is one of serve's, and each IDX_ variable one of its settings."""
    services = compose()["services"]
    known = serve_options()
    for name in ("idx-1", "idx-2"):
        options = [word for word in services[name]["command"] if word.startswith("--")]
        assert options, f"{name} gives no options"
        assert set(options) <= known, f"{name}: {set(options) - known} are no options of idx serve"
        variables = {key for key in services[name]["environment"] if key.startswith("IDX_")}
        assert {"IDX_DATABASE_URL", "IDX_NATS_URL", "IDX_KEY_PASSPHRASE", "IDX_NATS_TOKEN"} <= variables
        assert variables <= setting_variables(), f"{name}: {variables - setting_variables()} are no settings"


def test_the_systemd_unit_and_its_environment_file_name_only_what_idx_serve_has() -> None:
    """idx-serve.service's ExecStart options are serve's; idx.env sets only IDX_ variables of real settings."""
    unit = (DEPLOY / "idx-serve.service").read_text()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert " serve " in exec_start
    options = set(re.findall(r"(--[a-z-]+)", exec_start))
    assert options and options <= serve_options(), options - serve_options()
    environment = (DEPLOY / "idx.env").read_text().splitlines()
    variables = {line.lstrip("#").split("=", 1)[0] for line in environment if re.match(r"#?IDX_\w+=", line)}
    assert {"IDX_DATABASE_URL", "IDX_NATS_URL", "IDX_KEY_PASSPHRASE", "IDX_NATS_TOKEN"} <= variables
    assert variables <= setting_variables(), variables - setting_variables()
