"""A throw-away PostgreSQL cluster for the tests: `initdb` and `pg_ctl` from the distribution, on a free port.

Never a shared server: each test session makes its own cluster in a temporary directory and removes it at the end,
and each test that needs one gets a fresh database in it.

PostgreSQL refuses to run as root (initdb and postgres both check). As root, which CI and the development machines
are, the cluster runs as the unprivileged `nobody` (through `runuser`), in a directory that user owns; the tests
reach it over TCP on 127.0.0.1 with a password, as the exchange would reach a real server.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

from exchange.kernel.network import free_port

USER = "idx"
UNPRIVILEGED = "nobody"


def postgres_bin() -> Path | None:
    """The directory of the distribution's PostgreSQL programs (the newest version installed), if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


class PostgresCluster:
    """One PostgreSQL cluster of the test session: `initdb` in a temporary directory, then `pg_ctl start`."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.password = secrets.token_urlsafe(16)
        # Not under pytest's tmp_path: that is root's alone (0700), and the server may run as another user.
        self.directory = Path(tempfile.mkdtemp(prefix="idx-postgres-"))
        self.data = self.directory / "data"
        self._as_root = os.geteuid() == 0
        self._databases = 0

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        if self._as_root:
            user = pwd.getpwnam(UNPRIVILEGED)
            os.chown(self.directory, user.pw_uid, user.pw_gid)
        password_file = self.directory / "password"
        password_file.write_text(self.password + "\n")
        if self._as_root:
            os.chown(password_file, pwd.getpwnam(UNPRIVILEGED).pw_uid, -1)
        self._run(
            "initdb",
            "--pgdata",
            str(self.data),
            "--username",
            USER,
            "--pwfile",
            str(password_file),
            "--auth",
            "scram-sha-256",
            "--encoding",
            "UTF8",
            "--no-sync",  # a throw-away cluster need not survive a power cut
        )
        password_file.unlink()
        options = (
            f"-c port={self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.directory}"
            " -c fsync=off -c max_connections=200"
        )
        self._run(
            "pg_ctl", "start", "--pgdata", str(self.data), "--wait", "--timeout", "120", "--options", options,
            "--log", str(self.directory / "server.log"),
        )  # fmt: skip

    def stop(self) -> None:
        if self.data.exists():
            self._run("pg_ctl", "stop", "--pgdata", str(self.data), "--mode", "fast", "--wait", check=False)
        shutil.rmtree(self.directory, ignore_errors=True)

    def create_database(self, prefix: str = "test") -> str:
        """A fresh, empty database in the cluster; its URL."""
        self._databases += 1
        name = f"{prefix}_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join((self.directory / "server.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        command = [str(self.bin_dir / program), *args]
        if self._as_root:
            command = ["runuser", "-u", UNPRIVILEGED, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=180, cwd=self.directory)
        if check and result.returncode != 0:
            raise RuntimeError(f"{program} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
