"""`GET /metrics` from outside, as Prometheus scrapes it: the documented series, submissions counted, the Grafana
dashboard in docs/ querying only series that exist, and `--metrics-bind` moving it off the public port."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from exchange.functions.bpqd.sample import sample_body
from exchange.kernel.network import free_port
from tests.e2e.conftest import Participants
from tests.e2e.queue_helpers import wait_for_queue
from tests.harness import ServerProcess
from tests.problems import assert_problem

DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana-dashboard.json"
# PromQL words that look like series names but are not.
_PROMQL_WORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
}


def series_names(expression: str) -> set[str]:
    """The series a PromQL expression selects: identifiers that are not functions, keywords, labels or strings."""
    expression = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expression)
    expression = re.sub(r"\{[^}]*\}", "", expression)  # label matchers
    expression = re.sub(r"\[[^\]]*\]", "", expression)  # range selectors
    expression = re.sub(r"\boffset\s+\w+", "", expression)
    expression = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expression)
    names = set()
    for match in re.finditer(r"(?<![\w.:])[A-Za-z_:][\w:]*", expression):
        if expression[match.end() :].lstrip().startswith("("):
            continue  # a function: rate(, sum(, histogram_quantile(
        if match.group() not in _PROMQL_WORDS:
            names.add(match.group())
    return names


def dashboard_queries() -> Iterator[str]:
    """Every PromQL expression of the dashboard: panel targets, and the metric of each label_values() variable."""
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            yield target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            metric = re.fullmatch(r"label_values\((\w+),\s*\w+\)", variable["definition"])
            assert metric is not None, variable["definition"]
            yield metric.group(1)


def exposed(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape, by series name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(base_url: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url) as anonymous:
        return await anonymous.get("/metrics")


async def submit_and_deliver(participants: Participants) -> str:
    """One accepted BPQD message, queued for its recipient; the recipient's id."""
    mc, lnsp = await participants.new("MC", ["MC"]), await participants.new("LNSP", ["LNSP"])
    submitted = await mc.submit(sample_body(mc.participant_id, [lnsp.participant_id]))
    assert submitted.status_code == 200, submitted.text
    await wait_for_queue(lnsp, 1)
    return lnsp.participant_id


def test_the_series_extractor_finds_metrics_and_skips_functions_labels_and_keywords() -> None:
    expression = 'sum by (le) (rate(a_bucket{job=~"x|y"}[5m])) / on() group_left() b - max(c offset 5m)'
    assert series_names(expression) == {"a_bucket", "b", "c"}


async def test_metrics_show_the_api_series_with_the_submission_counted(
    server: ServerProcess, participants: Participants
) -> None:
    """After a submission, /metrics (no token, Prometheus text) counts it as accepted and shows every series."""
    recipient = await submit_and_deliver(participants)

    response = await scrape(server.base_url)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = exposed(response.text)
    accepted = ("idx_submissions_total", frozenset({("business_function", "pqd"), ("outcome", "accepted")}))
    assert samples[accepted] >= 1
    assert samples[("idx_queue_depth", frozenset({("participant", recipient), ("business_function", "pqd")}))] == 1
    assert samples[("idx_delivery_lag_seconds_count", frozenset())] >= 1
    assert samples[("idx_submission_seconds_count", frozenset({("business_function", "pqd")}))] >= 1
    store = samples[("idx_event_store_position", frozenset())]
    assert store > 0
    followers = {
        dict(labels)["follower"]: value for (name, labels), value in samples.items() if name == "idx_follower_position"
    }
    moved = {"queue", "relay", "translog", "archive", "notifications"}  # each has handled this submission's events
    assert moved <= followers.keys()
    assert all(0 < followers[name] <= store for name in moved), followers
    assert all(0 <= position <= store for position in followers.values()), followers


async def test_every_query_of_the_grafana_dashboard_names_a_series_that_metrics_exposes(
    server: ServerProcess, participants: Participants
) -> None:
    await submit_and_deliver(participants)
    names = {name for name, _ in exposed((await scrape(server.base_url)).text)}

    unknown = {(query, name) for query in dashboard_queries() for name in series_names(query) if name not in names}

    assert unknown == set()
    assert any("idx_delivery_lag_seconds_bucket" in query for query in dashboard_queries())


@pytest.fixture(scope="module")
def metrics_apart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    """An exchange serving /metrics on a listener of its own: (server, the metrics base URL).

    A port found free can be taken before the server binds it (by its own nats-server, whose port is found the same
    way, or by another test): then the start is tried again on other ports.
    """
    for attempt in range(3):
        port = free_port()
        server = ServerProcess(
            tmp_path_factory.mktemp("metrics-apart") / "data", extra_args=("--metrics-bind", f"127.0.0.1:{port}")
        )
        try:
            server.start()
        except RuntimeError as error:
            if "address already in use" not in str(error) or attempt == 2:
                raise
            continue
        try:
            yield server, f"http://127.0.0.1:{port}"
        finally:
            server.stop()
        return


async def test_metrics_bind_moves_metrics_off_the_public_port(metrics_apart: tuple[ServerProcess, str]) -> None:
    server, metrics_url = metrics_apart

    public, apart = await scrape(server.base_url), await scrape(metrics_url)

    assert_problem(public, 404)
    assert apart.status_code == 200
    assert ("idx_event_store_position", frozenset()) in exposed(apart.text)
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        assert (await anonymous.get("/healthz")).status_code == 200
