"""Private files: keys, secrets and credentials that only the exchange's own user may read."""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
from pathlib import Path
from typing import IO


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


class DataDirInUseError(Exception):
    """Another process holds the data directory's lock: two exchanges on one store would corrupt it."""


def claim_data_dir(directory: Path) -> IO[bytes]:
    """Make `directory` private (0700, nothing in it readable by others) and lock it for this process's life.

    The lock (`flock` on DIR/.lock) is taken before anything else in the directory is touched, so a second
    exchange started on the same files stops here, instead of killing the first one's nats-server through its
    pid file. The kernel drops the lock when the process ends, however it ends: the caller keeps the returned
    file open for as long as it runs.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = (directory / ".lock").open("ab")
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise DataDirInUseError(
            f"{directory} is in use by another idx process; stop it first, or give another --data-dir"
        ) from None
    _make_private(directory)
    return lock


def join_data_dir(directory: Path, descriptor: int) -> IO[bytes]:
    """The lock of `directory` that a parent process claimed and passed down as the open file `descriptor`.

    A worker of `idx serve --workers N` shares its parent's claim instead of taking one: the inherited file is the
    same open file as the parent's, so its `flock` is held by both, and the kernel drops it only when the last of
    them ends. An unrelated `idx serve` on the directory is still refused by `claim_data_dir`. A descriptor that
    is not that directory's lock, or that holds no lock, raises DataDirInUseError rather than running unguarded.
    """
    lock = os.fdopen(descriptor, "ab")
    try:
        held = os.fstat(lock.fileno())
        expected = (directory / ".lock").stat()
        if (held.st_dev, held.st_ino) != (expected.st_dev, expected.st_ino):
            raise DataDirInUseError(f"descriptor {descriptor} is not the lock of {directory}")
        # On the open file that already holds the exclusive lock this succeeds at once; on any other it fails.
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise DataDirInUseError(f"{directory} is in use by another idx process, not by this worker's parent") from None
    except BaseException:
        lock.close()
        raise
    return lock


def _make_private(directory: Path) -> None:
    # A data directory written by an older release (or with another umask) may hold files others can read.
    for path in [directory, *directory.rglob("*")]:
        with contextlib.suppress(OSError):  # a file that vanished meanwhile needs nothing
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                continue
            if stat.S_IMODE(mode) & 0o077:
                path.chmod(stat.S_IMODE(mode) & 0o700)
