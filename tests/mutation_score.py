"""The mutation score per package from mutmut's recorded results, and CI's check for new survivors.

    python -m tests.mutation_score PATTERN...                 # the table for docs/testing.md
    python -m tests.mutation_score --fail-on-new PATTERN...   # exit 1 on a survivor docs/testing.md does not justify
    python -m tests.mutation_score --fail-on-new --sample     # the same over CI's fixed sample (SAMPLE)
    python -m tests.mutation_score --pick 60 PATTERN...       # choose a new fixed sample from a full run's results

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
SAMPLE = Path(__file__).resolve().parent / "mutation_sample.txt"
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


def sample() -> list[str]:
    """CI's fixed sample: one mutant name a line; `#` starts a comment."""
    lines = (line.split("#", 1)[0].strip() for line in SAMPLE.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def pick(found: dict[str, str], size: int) -> list[str]:
    """About `size` mutants spread evenly over each package's sorted names, in proportion to its mutants.

    Even spacing over sorted names reaches every file and most functions of a package, and the same results
    always give the same sample. Every package gets at least three.
    """
    by_package: dict[str, list[str]] = defaultdict(list)
    for mutant in sorted(found):
        by_package[package_of(mutant)].append(mutant)
    chosen = []
    for names in by_package.values():
        quota = min(len(names), max(3, round(size * len(names) / len(found))))
        chosen += [names[int((i + 0.5) * len(names) / quota)] for i in range(quota)]
    return sorted(chosen)


def main(arguments: list[str]) -> int:
    fail_on_new = "--fail-on-new" in arguments
    patterns = [a for a in arguments if not a.startswith("--") and not a.isdigit()] or ["*"]
    found = results()
    if "--pick" in arguments:
        size = int(arguments[arguments.index("--pick") + 1])
        print("\n".join(pick({m: s for m, s in found.items() if any(fnmatch.fnmatch(m, p) for p in patterns)}, size)))
        return 0
    if "--sample" in arguments:
        patterns = sample()
        # A name mutmut no longer knows (its function was renamed or removed) would silently shrink the sample.
        stale = sorted(name for name in patterns if name not in found)
        if stale:
            for name in stale:
                print(f"stale sample: {name} is not a mutant any more; choose a new sample (--pick)")
            return 1
    chosen = {m: s for m, s in found.items() if any(fnmatch.fnmatch(m, p) for p in patterns)}
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
