"""The mutation score per package from mutmut's recorded results, and CI's check for new survivors.

    python -m tests.mutation_score PATTERN...                 # the table for docs/testing.md
    python -m tests.mutation_score --fail-on-new PATTERN...   # exit 1 on a survivor docs/testing.md does not justify

A survivor is justified when its mutant name appears in backquotes in docs/testing.md, with its reason.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "testing.md"
ALIVE = {"survived", "no tests"}


def results() -> dict[str, str]:
    """Every mutant mutmut has recorded, with its status (killed, survived, no tests, timeout, not checked...)."""
    mutmut = Path(sys.executable).parent / "mutmut"
    out = subprocess.run([mutmut, "results", "--all", "true"], capture_output=True, text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        name, separator, status = line.strip().rpartition(": ")
        if separator:
            found[name] = status
    return found


def package_of(mutant: str) -> str:
    """certs, flowcontrol, exchange.functions.recall.rules, exchange.services.submit..."""
    module = mutant.split(".x", 1)[0].split(".x_", 1)[0]
    parts = [part for part in module.split(".") if not part.startswith(("x_", "xǁ"))]
    return parts[0] if parts[0] in {"certs", "flowcontrol"} else ".".join(parts)


def justified() -> set[str]:
    return set(re.findall(r"`([\w.ǁ]+__mutmut_\d+)`", DOC.read_text(encoding="utf-8")))


def main(arguments: list[str]) -> int:
    fail_on_new = "--fail-on-new" in arguments
    patterns = [a for a in arguments if not a.startswith("--")] or ["*"]
    chosen = {m: s for m, s in results().items() if any(fnmatch.fnmatch(m, p) for p in patterns)}
    by_package: dict[str, Counter[str]] = defaultdict(Counter)
    for mutant, status in chosen.items():
        by_package[package_of(mutant)][status] += 1
    print("| package | mutants | killed | survived | no tests | other | score |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for package, counts in sorted(by_package.items()):
        total = sum(counts.values())
        checked = total - counts["not checked"]
        killed = counts["killed"] + counts["timeout"] + counts["caught by type check"]
        other = checked - killed - counts["survived"] - counts["no tests"]
        score = f"{100 * killed / checked:.1f} %" if checked else "-"
        print(f"| {package} | {total} | {killed} | {counts['survived']} | {counts['no tests']} | {other} | {score} |")
    if not fail_on_new:
        return 0
    unchecked = sorted(m for m, s in chosen.items() if s == "not checked")
    new = sorted(m for m, s in chosen.items() if s in ALIVE and m not in justified())
    for mutant in new:
        print(f"new survivor: {mutant} (see `mutmut show {mutant}`; kill it or justify it in docs/testing.md)")
    for mutant in unchecked:
        print(f"not checked: {mutant}")
    return 1 if new or unchecked else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
