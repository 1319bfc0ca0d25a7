"""The pieces of `idx serve --workers N` that need no server: joining the parent's claim of the data directory,
sharing a port with SO_REUSEPORT, naming the worker in each answer, and the options it refuses."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from exchange.cli import serve
from exchange.cli.workers import WORKER_HEADER, WorkerSeat, reuse_port_socket
from exchange.kernel.files import DataDirInUseError, claim_data_dir, join_data_dir


def test_a_worker_joins_the_lock_its_parent_holds_through_the_inherited_file(tmp_path: Path) -> None:
    """The same open file (as a child inherits it) holds the lock; an unrelated claim is still refused."""
    held = claim_data_dir(tmp_path)
    joined = join_data_dir(tmp_path, os.dup(held.fileno()))
    with pytest.raises(DataDirInUseError, match="in use by another idx process"):
        claim_data_dir(tmp_path)
    held.close()
    with pytest.raises(DataDirInUseError):  # the worker's copy keeps the directory claimed on its own
        claim_data_dir(tmp_path)
    joined.close()
    claim_data_dir(tmp_path).close()


def test_joining_with_a_file_that_holds_no_lock_is_refused(tmp_path: Path) -> None:
    """A descriptor of the lock file opened anew, while someone else holds the lock, is no claim."""
    held = claim_data_dir(tmp_path)
    stranger = os.open(tmp_path / ".lock", os.O_RDONLY)
    with pytest.raises(DataDirInUseError, match="not by this worker's parent"):
        join_data_dir(tmp_path, stranger)
    held.close()


def test_joining_with_a_descriptor_of_another_file_is_refused(tmp_path: Path) -> None:
    claim_data_dir(tmp_path / "data").close()
    other = os.open(tmp_path / "elsewhere", os.O_CREAT | os.O_RDWR, 0o600)
    with pytest.raises(DataDirInUseError, match="is not the lock of"):
        join_data_dir(tmp_path / "data", other)


def test_sockets_with_so_reuseport_share_a_port_that_a_plain_socket_cannot_take() -> None:
    """The parent's bound socket and a worker's listening one share the port; anyone else gets EADDRINUSE."""
    holder = reuse_port_socket("127.0.0.1", 0)
    port = holder.getsockname()[1]
    worker = reuse_port_socket("127.0.0.1", port)
    worker.listen()
    plain = socket.socket()
    try:
        with pytest.raises(OSError, match="in use"):
            plain.bind(("127.0.0.1", port))
    finally:
        for sock in (holder, worker, plain):
            sock.close()


async def test_every_http_answer_of_a_worker_names_its_process() -> None:
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    async def record(message: Any) -> None:
        sent.append(message)

    tagged = WorkerSeat(data_dir_lock=None, ready_fd=-1).tagged(app)  # type: ignore[arg-type]
    await tagged({"type": "http"}, None, record)

    assert (WORKER_HEADER.encode(), str(os.getpid()).encode()) in sent[0]["headers"]
    assert (b"content-type", b"text/plain") in sent[0]["headers"]
    assert sent[1]["body"] == b"ok"


def test_the_test_clock_is_refused_with_several_workers(tmp_path: Path) -> None:
    """Each worker would keep its own offset: the combination stops at the start with a usage error."""
    result = CliRunner().invoke(serve, ["--data-dir", str(tmp_path), "--workers", "2", "--test-clock"])
    assert result.exit_code == 2
    assert "--test-clock" in result.output and "--workers 1" in result.output


def test_workers_must_be_at_least_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(serve, ["--data-dir", str(tmp_path), "--workers", "0"])
    assert result.exit_code == 2
    assert "0 is not in the range" in result.output
