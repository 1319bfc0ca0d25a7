"""The one private-file writer: mode 0600, whole content, no stray temporary files."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from exchange.kernel.files import write_private


def test_a_private_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """The file is 0600 and holds exactly what was written; text is written as UTF-8."""
    path = tmp_path / "operator.secret"
    write_private(path, "s3cret\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "s3cret\n"


def test_overwriting_replaces_the_content_and_keeps_the_mode_private(tmp_path: Path) -> None:
    """A file that was world-readable before is 0600 after being replaced."""
    path = tmp_path / "key"
    path.write_bytes(b"old")
    path.chmod(0o644)
    write_private(path, b"new")
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["key"]


def test_without_overwrite_an_existing_file_is_left_alone(tmp_path: Path) -> None:
    """overwrite=False raises FileExistsError, keeps the old content and leaves no temporary file."""
    path = tmp_path / "key"
    path.write_bytes(b"keep me")
    with pytest.raises(FileExistsError):
        write_private(path, b"new", overwrite=False)
    assert path.read_bytes() == b"keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["key"]
