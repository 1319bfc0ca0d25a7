"""Private files: keys, secrets and credentials that only the exchange's own user may read."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_private(path: Path, data: bytes | str, *, overwrite: bool = True) -> None:
    """Write `data` to `path` as a file of mode 0600, atomically.

    The temporary file is created 0600, so the content is never readable by others, not even for a moment; it
    is synced and then renamed over `path`, so a reader (or a crash) sees the old file or the whole new one.
    With `overwrite=False` an existing `path` is left alone and FileExistsError raised.
    """
    content = data.encode() if isinstance(data, str) else data
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        if overwrite:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)  # fails if path exists: no check-then-write race
    finally:
        Path(temporary).unlink(missing_ok=True)
