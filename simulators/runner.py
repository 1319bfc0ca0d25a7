"""Runs scenarios one after another against one exchange and prints their pass/fail table."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from simulators.participants import Cast, HubTrust
from simulators.scenarios import Outcome, Stage, run_scenario

_STYLE = {"passed": "green", "failed": "bold red"}


async def run_scenarios(
    base_url: str, operator_secret: str, names: list[str], options: dict[str, Any]
) -> list[Outcome]:
    console = Console(stderr=True)
    trust = await HubTrust.fetch(base_url)
    cast = await Cast.open(base_url, operator_secret)
    outcomes: list[Outcome] = []
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress:
            tasks: dict[str, TaskID] = {}

            def advance(label: str, done: float, total: float) -> None:
                if label not in tasks:
                    tasks[label] = progress.add_task(label, total=total)
                progress.update(tasks[label], completed=done, total=total)

            for name in names:
                progress.console.print(f"[dim]running[/dim] {name}")
                stage = Stage(base_url, cast, trust, options, advance)
                outcomes.append(await run_scenario(name, stage))
    finally:
        await cast.close()
    return outcomes


def print_outcomes(outcomes: list[Outcome]) -> None:
    table = Table(title="Industry test scenarios")
    table.add_column("scenario")
    table.add_column("result")
    table.add_column("seconds", justify="right")
    table.add_column("detail", overflow="fold")
    for outcome in outcomes:
        style = _STYLE.get(outcome.status, "yellow")
        table.add_row(outcome.name, f"[{style}]{outcome.status}[/{style}]", f"{outcome.seconds:.1f}", outcome.detail)
    console = Console(width=max(Console().width, 140))
    console.print(table)
    passed = sum(o.status == "passed" for o in outcomes)
    failed = sum(o.status == "failed" for o in outcomes)
    console.print(f"{passed} passed, {failed} failed, {len(outcomes) - passed - failed} skipped")
