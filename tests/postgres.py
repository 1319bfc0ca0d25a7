"""A throw-away PostgreSQL cluster for the tests: `initdb` and `pg_ctl` from the distribution, on a free port.

Never a shared server: each test session makes its own cluster in a temporary directory and removes it at the end,
and each test that needs one gets a fresh database in it. The cluster itself is the one `idx cluster` runs
(exchange.eventstore.local_postgres): as root it runs as `nobody`, reached over TCP with a password.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from exchange.eventstore.local_postgres import LocalPostgres, postgres_bin

__all__ = ["PostgresCluster", "postgres_bin"]


class PostgresCluster(LocalPostgres):
    """One PostgreSQL cluster of the test session: `initdb` in a temporary directory, then `pg_ctl start`."""

    def __init__(self, bin_dir: Path) -> None:
        # Not under pytest's tmp_path: that is root's alone (0700), and the server may run as another user.
        super().__init__(bin_dir, Path(tempfile.mkdtemp(prefix="idx-postgres-")), throwaway=True)

    def stop(self) -> None:
        """Stop the server and remove the cluster."""
        self.halt()
        shutil.rmtree(self.directory, ignore_errors=True)

    def halt(self) -> None:
        """Stop the server only, keeping its data, as an outage of the database would (`start` brings it back)."""
        super().stop()

    def create_database(self, prefix: str = "test") -> str:
        """A fresh, empty database in the cluster; its URL."""
        self._databases += 1
        return super().create_database(f"{prefix}_{self._databases}")
