"""The benchmarks' probe target: nginx when installed, else a small asyncio HTTP/1.1 keep-alive server.

Both listen on 127.0.0.1 only, answer every GET with `200 ok`, and count what
they serve at `/__served` (nginx's stub_status; our own counter), so a run
knows how many probes reached the server whoever sent them. The Python server also answers `/json-4k...` with
a 4 kB JSON document (`JSON_4K`), what a health endpoint with details returns.

`delay_ms` (Python server only) answers each request that much later, like a far site.

Run alone: ``python -m bench.target_server PORT [DELAY_MS]`` (the Python server).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from bench.processes import stop_process

_NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    server {{
        listen 127.0.0.1:{port};
        location = /__served {{ stub_status; }}
        location / {{ return 200 "ok\\n"; }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class TargetServer:
    """A started target server; `with TargetServer() as server: server.url(1)`."""

    def __init__(self, prefer_nginx: bool = True, delay_ms: float = 0.0) -> None:
        self.port = free_port()
        self._asked = 0  # requests `served` has made that reached the server
        self._dir = tempfile.TemporaryDirectory(prefix="bench-target-")
        nginx = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
        if prefer_nginx and nginx is not None and not delay_ms:
            self.kind = "nginx"
            conf = Path(self._dir.name) / "nginx.conf"
            conf.write_text(_NGINX_CONF.format(dir=self._dir.name, port=self.port))
            command = [nginx, "-c", str(conf), "-p", self._dir.name]
        else:
            self.kind = "python-asyncio"
            command = [sys.executable, "-m", "bench.target_server", str(self.port), str(delay_ms)]
        self.process = subprocess.Popen(command, cwd=Path(__file__).resolve().parent.parent,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_ready(10.0)

    def url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.port}/{n}"

    def served(self) -> int:
        """Requests served so far to others than this object: both servers count the requests that ask too,
        so those (this one included) are taken off here rather than by every caller."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request("GET", "/__served")
            body = connection.getresponse().read().decode()
        finally:
            connection.close()
        self._asked += 1
        match = re.search(r"^\s*\d+\s+\d+\s+(\d+)\s*$", body, re.M) if self.kind == "nginx" else None
        return (int(match.group(1)) if match else int(body.split()[0])) - self._asked

    def pids(self) -> list[int]:
        return [self.process.pid]

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                said = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"target server exited: {said}")
            try:
                self.served()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("target server did not start")

    def close(self) -> None:
        stop_process(self.process)
        self._dir.cleanup()

    def __enter__(self) -> TargetServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nok\n"


def _json_4k() -> str:
    """A health document of about 4 kB: a status, a queue, and as many dependencies' checks as fit."""
    document: dict[str, object] = {"status": "ok", "queue": {"depth": 12, "oldest": "2026-11-30T12:00:00Z"}}
    checks: list[dict[str, object]] = []
    while len(json.dumps({**document, "checks": checks})) < 4000:
        checks.append({"name": f"dependency-{len(checks)}", "status": "ok", "latencyMs": 1.5 + len(checks),
                       "detail": "x" * 20})
    return json.dumps({**document, "checks": checks})


JSON_4K = _json_4k()
_JSON_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: application/json\r\n\r\n%s"
                  % (len(JSON_4K), JSON_4K.encode()))


async def _serve(port: int, delay_ms: float) -> None:
    served = 0

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                served += 1
                if delay_ms and not head.startswith(b"GET /__served "):
                    await asyncio.sleep(delay_ms / 1000)
                if head.startswith(b"GET /__served "):
                    body = f"{served}\n".encode()
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                elif head.startswith(b"GET /json-4k"):
                    writer.write(_JSON_RESPONSE)
                else:
                    writer.write(_RESPONSE)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(client, "127.0.0.1", port, backlog=1024)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 0.0))
