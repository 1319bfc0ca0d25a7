"""The README's curl walk-through, run as it is written against a fresh `idx serve --demo`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import running_server

README = Path(__file__).resolve().parents[2] / "README.md"
TOOLS = ("curl", "jq", "openssl", "gzip", "base64", "cmp")


def walkthrough() -> str:
    text = README.read_text()
    match = re.search(r"<!-- walkthrough:start -->\s*```bash\n(.*?)```\s*<!-- walkthrough:end -->", text, re.DOTALL)
    assert match, "README.md has no walk-through block"
    return match.group(1)


def test_the_readme_walkthrough_works_as_written(tmp_path: Path) -> None:
    """Token, CSR, certificate, nomination, signed gzip POST, receipt check, list, byte-identical get, delete."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"the walk-through needs {missing} on PATH")
    workdir = tmp_path / "walk"
    workdir.mkdir()
    (workdir / ".venv").symlink_to(Path(sys.prefix))
    with running_server(tmp_path / "data", "--demo") as server:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", walkthrough()],
            cwd=workdir,
            env={**os.environ, "BASE": server.base_url, "DATA": str(server.data_dir)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "payload byte-identical" in result.stdout
    assert "Verification successful" in output  # openssl cms -verify of the receipt
    assert "delete: 204" in result.stdout
    assert "fetch again: 404" in result.stdout
    assert re.search(r"x-original-signature: RSA-SHA256;", result.stdout, re.IGNORECASE)
