"""Settings are the one home of defaults and IDX_* variables, and `idx serve` reads them from there."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from exchange.cli import serve
from exchange.settings import Settings, env_var


def test_every_serve_option_with_a_setting_defaults_to_that_setting() -> None:
    """An option named after a Settings field reads that field's IDX_* variable and shows its default."""
    settings = {f.name: f for f in fields(Settings)}
    options = [
        p
        for p in serve.params
        if isinstance(p, click.Option) and p.name in settings and p.name not in ("demo", "data_dir")
    ]
    assert options
    for option in options:
        assert option.name is not None
        assert option.envvar == env_var(option.name)
        default = settings[option.name].default
        # A tuple is one comma-separated option (the daily quota) or a repeatable one (plugins).
        expected = default if option.multiple or not isinstance(default, tuple) else ",".join(map(str, default))
        assert option.default == expected, option.name


def test_an_environment_variable_is_idx_and_the_field_in_capitals() -> None:
    """`port` is IDX_PORT; a name that is no setting is an error, not a variable nobody reads."""
    assert env_var("port") == "IDX_PORT"
    assert env_var("operator_secret") == "IDX_OPERATOR_SECRET"
    with pytest.raises(KeyError):
        env_var("no_such_setting")


def test_the_operator_secret_stays_out_of_the_settings_repr() -> None:
    """Settings are logged; the operator's secret is not."""
    assert "hunter2" not in repr(Settings(data_dir=Path("/tmp/x"), operator_secret="hunter2"))


@pytest.mark.parametrize("value", ["9464", "127.0.0.1", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:70000"])
def test_a_metrics_bind_that_is_not_host_and_port_is_a_usage_error(value: str, tmp_path: Path) -> None:
    """`--metrics-bind` is refused before anything starts unless it is HOST:PORT."""
    result = CliRunner().invoke(serve, ["--data-dir", str(tmp_path), "--metrics-bind", value])
    assert result.exit_code == 2
    assert "HOST:PORT" in result.output
    assert list(tmp_path.iterdir()) == []
