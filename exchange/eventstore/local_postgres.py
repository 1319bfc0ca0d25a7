"""A PostgreSQL cluster on this machine, for tests and `idx cluster`: the distribution's `initdb` and `pg_ctl`.

The cluster listens on 127.0.0.1 only and asks for a password (scram-sha-256), so the exchange reaches it over TCP
as it would reach a real server. PostgreSQL refuses to run as root (initdb and postgres both check): as root, which
CI and the development machines are, the server runs as the unprivileged `nobody` (through `runuser`), in a
directory that user owns. A directory that already holds a cluster is started again as it is, with the password it
was made with (kept beside it, readable by its owner only).
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql

from exchange.kernel.files import write_private
from exchange.kernel.network import free_port

USER = "idx"
UNPRIVILEGED = "nobody"
PASSWORD_FILE = "superuser.password"  # noqa: S105 -- the file's name, not its content


def postgres_bin() -> Path | None:
    """The directory of the distribution's PostgreSQL programs (the newest version installed), if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


class LocalPostgres:
    """One PostgreSQL cluster in `directory` (made there by the first `start`), on `port` or a free one."""

    def __init__(self, bin_dir: Path, directory: Path, port: int | None = None, *, throwaway: bool = False) -> None:
        """`throwaway`: a cluster for one test session, which need not survive a power cut (no fsync at all)."""
        self.bin_dir = bin_dir
        self.throwaway = throwaway
        self.directory = directory
        self.data = directory / "data"
        self.port = port or free_port()
        self._as_root = os.geteuid() == 0
        self._databases = 0
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        secret = directory / PASSWORD_FILE
        if not secret.exists():
            write_private(secret, secrets.token_urlsafe(16) + "\n")
        self.password = secret.read_text().strip()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def start(self) -> None:
        """Make the cluster when the directory holds none yet, then start the server and wait until it answers."""
        if not (self.data / "PG_VERSION").exists():
            self._init()
        options = (
            f"-c port={self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.directory}"
            " -c max_connections=200" + (" -c fsync=off" if self.throwaway else "")
        )
        try:
            self._run(
                "pg_ctl", "start", "--pgdata", str(self.data), "--wait", "--timeout", "120", "--options", options,
                "--log", str(self.directory / "server.log"),
            )  # fmt: skip
        except RuntimeError as error:
            # pg_ctl says only "examine the log output": the log says why (a port taken, say).
            raise RuntimeError(f"{error}\n{self.directory / 'server.log'}:\n{self.log_tail(5)}") from None

    def stop(self) -> None:
        """Stop the server (its fast shutdown: open transactions are rolled back); the data stays."""
        if self.data.exists():
            self._run("pg_ctl", "stop", "--pgdata", str(self.data), "--mode", "fast", "--wait", check=False)

    def create_database(self, name: str) -> str:
        """The database `name`, created when missing; its URL."""
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as connection:
            exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if exists is None:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join((self.directory / "server.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _init(self) -> None:
        if self._as_root:
            user = pwd.getpwnam(UNPRIVILEGED)
            os.chown(self.directory, user.pw_uid, user.pw_gid)
        # initdb reads the password from a file the server's user can read; it goes as soon as initdb is done.
        password_file = self.directory / "initdb.password"
        write_private(password_file, self.password + "\n")
        if self._as_root:
            os.chown(password_file, pwd.getpwnam(UNPRIVILEGED).pw_uid, -1)
        try:
            self._run(
                "initdb", "--pgdata", str(self.data), "--username", USER, "--pwfile", str(password_file),
                "--auth", "scram-sha-256", "--encoding", "UTF8", *(["--no-sync"] if self.throwaway else []),
            )  # fmt: skip
        finally:
            password_file.unlink(missing_ok=True)

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        command = [str(self.bin_dir / program), *args]
        if self._as_root:
            command = ["runuser", "-u", UNPRIVILEGED, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=180, cwd=self.directory, check=False)
        if check and result.returncode != 0:
            raise RuntimeError(f"{program} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
