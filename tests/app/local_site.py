"""Real parts for the readers' tests: a site on 127.0.0.1 whose health can be flipped, and app processes."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


class HealthServer:
    """`url` answers 200 while `healthy`, 503 otherwise."""

    def __init__(self) -> None:
        self.healthy = True
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                code = 200 if owner.healthy else 503
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def health_server() -> Iterator[HealthServer]:
    server = HealthServer()
    try:
        yield server
    finally:
        server.close()


class App:
    """`./monitoringApp.py` with `args` in the repo root; stdout lines collected with their arrival time."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(REPO / "monitoringApp.py"), *args], cwd=REPO,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines: list[tuple[float, str]] = []
        self._new: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def wait_for_line(self, matches: Callable[[str], bool], timeout: float, start: int = 0) -> tuple[float, str]:
        """(arrival time, text) of the first line from `start` on that `matches`; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for arrived, text in self.lines[start:]:
                if matches(text):
                    return arrived, text
            time.sleep(0.02)
        raise AssertionError(f"no matching line within {timeout}s; got:\n" + self.text())

    def text(self) -> str:
        return "\n".join(text for _, text in self.lines)

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, signum: int = signal.SIGINT, timeout: float = 10.0) -> tuple[int, str]:
        """Send `signum`, wait for the exit; (exit status, stderr)."""
        if self.running():
            self.process.send_signal(signum)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self._reader.join(timeout=5)
        assert self.process.stderr is not None
        return self.process.returncode, self.process.stderr.read()


def wait_until(condition: Callable[[], Any], timeout: float, step: float = 0.02) -> Any:
    """The first truthy value of `condition()`; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout}s")


def silence(process: subprocess.Popen[str]) -> None:
    """Kill `process` at once, as a crash would."""
    process.send_signal(signal.SIGKILL)
    process.wait(5)
