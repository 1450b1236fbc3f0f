"""A webhook receiver on 127.0.0.1 for the notifier's tests and bench: it records every POST (arrival time,
`Idempotency-Key`, JSON body) and answers `status`; it can go down and come back on the same port."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, NamedTuple

from bench.http_server import LocalHTTPServer


class Received(NamedTuple):
    arrived: float  # time.monotonic()
    path: str
    key: str | None  # the Idempotency-Key header
    body: Any


class WebhookReceiver:
    """`url(path)` of a receiver; `received` lists what it was sent with a 2xx answer, `refused` the others."""

    def __init__(self, port: int = 0, status: int = 200, delay: float = 0.0) -> None:
        self.status = status
        self.delay = delay  # seconds before each answer: a slow receiver
        self.received: list[Received] = []
        self.refused: list[Received] = []
        self._lock = threading.Lock()
        self._server: LocalHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = port
        self.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver.status
                item = Received(time.monotonic(), self.path, self.headers.get("Idempotency-Key"),
                                json.loads(body) if body else None)
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver._lock:
                    (receiver.received if 200 <= status < 300 else receiver.refused).append(item)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        server = LocalHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="webhook-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Down: connections to its port are refused until `start` again."""
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5.0)
            self._server = None

    def keys(self) -> list[str | None]:
        with self._lock:
            return [item.key for item in self.received]
