"""The openssl command line as the interop tests run it: a missing openssl fails the test, naming the fix."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def openssl(*arguments: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`openssl ARGUMENTS`, its output captured as text; its exit status is the caller's to judge."""
    # A skipped interop test would look like a passed one: `make test` installs openssl, so its absence is a failure.
    if shutil.which("openssl") is None:
        pytest.fail("openssl is missing: `make test` installs Debian's package `openssl` (apt-get install openssl)")
    return subprocess.run(["openssl", *map(str, arguments)], capture_output=True, text=True, cwd=cwd, check=False)
