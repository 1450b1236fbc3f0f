"""The scenario server: a real flask app on 127.0.0.1 whose endpoints follow their schedules in virtual time.

The runner `play`s one scenario at a time: a schedule per path and a `now`
callable giving the virtual seconds since the scenario started. The clock's
thread sits inside the tick's request while the server answers, so reading
virtual time from the server's thread sees the tick's own time.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping

from flask import Flask, Response, request
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from monitoringapp.testmode.schedule import Kind, Phase, phase_at


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Thousands of requests per run: no access log (errors are still logged)."""


class ScenarioServer:
    """`start` it, `play` a scenario's schedules, read `requests`, then `stop` it."""

    def __init__(self) -> None:
        self.app = Flask("monitoringApp-testmode")
        self.app.add_url_rule("/<path:path>", "answer", self._answer)
        self._lock = threading.Lock()
        self._schedules: dict[str, tuple[Phase, ...]] = {}
        self._now: Callable[[], float] = lambda: 0.0
        self._per_phase: Counter[tuple[str, int]] = Counter()
        self.requests = 0
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the server first"
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> None:
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="testmode-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def play(self, schedules: Mapping[str, tuple[Phase, ...]], now: Callable[[], float]) -> None:
        """Serve `schedules` (by URL path, e.g. `/2-seed/site`) with `now()` the virtual seconds elapsed."""
        with self._lock:
            self._schedules = {path.lstrip("/"): phases for path, phases in schedules.items()}
            self._now = now
            self._per_phase.clear()
            self.requests = 0

    def _answer(self, path: str) -> Response:
        with self._lock:
            phases = self._schedules.get(path)
            self.requests += 1
            if phases is None:
                return Response("no such site in this scenario\n", status=404)
            index = phase_at(phases, self._now())
            self._per_phase[path, index] += 1
            count = self._per_phase[path, index]
        behaviour = phases[index][1]
        if behaviour.kind is Kind.REFUSED:
            # Close the connection under the handler: the client reads no status line at all.
            request.environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
            return Response(status=500)
        if behaviour.kind is Kind.SLOW:
            time.sleep(behaviour.delay)
        if behaviour.kind is Kind.FLAPPING:
            failing = count % behaviour.every == 0
            return Response("flap\n" if failing else "ok\n", status=500 if failing else 200)
        body = behaviour.body if behaviour.body is not None else "ok\n" if behaviour.status < 400 else "failing\n"
        return Response(body, status=behaviour.status)
