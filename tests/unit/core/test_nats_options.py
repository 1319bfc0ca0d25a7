"""`--nats-url` names one server or a cluster, its credentials stay out of logs, and bad values stop at the start."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from exchange.cli import serve
from exchange.messaging.connection import nats_servers, without_credentials
from exchange.settings import Settings


def test_a_comma_separated_url_is_the_servers_of_a_cluster() -> None:
    """Each server once, spaces around the commas ignored; one URL is a list of one."""
    assert nats_servers("nats://a:4222, nats://b:4222,nats://c:4222") == [
        "nats://a:4222",
        "nats://b:4222",
        "nats://c:4222",
    ]
    assert nats_servers("nats://only:4222") == ["nats://only:4222"]


@pytest.mark.parametrize("url", ["", " , ", "http://a:4222", "nats://", "nats://a:4222,ftp://b"])
def test_a_url_that_names_no_nats_server_is_refused(url: str) -> None:
    """An empty list, another scheme or a missing host is a ValueError, not a connection that hangs."""
    with pytest.raises(ValueError, match="server"):
        nats_servers(url)


def test_credentials_in_any_of_the_urls_stay_out_of_what_is_logged() -> None:
    """Tokens and passwords are cut from every URL of the list, the addresses kept."""
    logged = without_credentials("nats://s3cret@a:4222,nats://user:pa55@b:4222,nats://c:4222")
    assert logged == "nats://a:4222,nats://b:4222,nats://c:4222"


def test_the_nats_token_stays_out_of_the_settings_repr() -> None:
    """Settings are logged; the NATS token is not."""
    assert "t0ken" not in repr(Settings(data_dir=Path("/tmp/x"), nats_token="t0ken"))


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--nats-url", "http://a:4222"], "nats://HOST:PORT"),
        (["--stream-replicas", "3"], "--nats-url"),
        (["--nats-url", "nats://a:4222", "--stream-replicas", "0"], "0 is not in the range"),
    ],
)
def test_bad_nats_options_are_usage_errors_before_anything_starts(
    arguments: list[str], says: str, tmp_path: Path
) -> None:
    """A URL that is no NATS server, replicas without a cluster or out of range: exit 2, nothing written."""
    result = CliRunner().invoke(serve, ["--data-dir", str(tmp_path), *arguments])
    assert result.exit_code == 2
    assert says in result.output
    assert list(tmp_path.iterdir()) == []
