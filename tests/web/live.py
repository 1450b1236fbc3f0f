"""A real monitor and a real `-w` on one database with 90 days of history: what the browser, Prometheus and the
process tests look at. Bounded in time: every wait has a timeout, every process is stopped."""

from __future__ import annotations

import json
import re
import signal
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.processes import App
from monitoringapp.domain.events import AlertTransition, ErrorKind, Probe, TransitionKind
from monitoringapp.domain.sites import site_id
from monitoringapp.store.sqlite.writer import SqliteEventLog
from tests.local_http import LocalServer, local_server, refused_port


@dataclass
class LiveWeb:
    server: LocalServer
    monitor: App
    web: App
    url: str  # http://127.0.0.1:PORT
    sites: dict[str, str]  # role -> monitored URL
    database: Path

    def key(self, role: str) -> str:
        return site_id(self.sites[role])

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return bytes(response.read())


def history(path: Path, sites: dict[str, str], now: float) -> None:
    """90 days of probes every 15 minutes, with a few bad days, written through the real writer."""
    log = SqliteEventLog(path, flush_interval=60.0)
    start = now - 90 * 86400
    for n in range(90 * 96 - 4):
        at = start + n * 900
        day = n // 96
        for role, url in sites.items():
            bad = (role == "health" and day in (20, 61, 62) and n % 96 < 30) or (role == "api" and n % 97 == 5)
            if role == "refused" and day > 84:
                log.append_probe(Probe(at, url, False, None, None, ErrorKind.CONNECTION))
            elif bad:
                log.append_probe(Probe(at, url, False, 503, 40.0))
            else:
                log.append_probe(Probe(at, url, True, 200, 30.0 + (n * 7 + len(role)) % 25 + 20 * (role == "api")))
    for day in (20, 61):
        began = start + day * 86400 + 1800
        log.append_transition(AlertTransition(began, sites["health"], TransitionKind.ALERT, 0.5, start=began))
        log.append_transition(AlertTransition(began + 5400, sites["health"], TransitionKind.RECOVERY, 0.85,
                                              start=began, end=began + 5400))
    log.close()


@contextmanager
def live_web(directory: Path) -> Iterator[LiveWeb]:
    with local_server() as server:
        sites = {
            "shop": server.url("/ok"),
            "health": server.url("/health"),
            "api": f"http://api:hunter2@127.0.0.1:{server.port}/ok?q=<script>alert(1)</script>",
            "refused": f"http://127.0.0.1:{refused_port()}/",
        }
        config = directory / "config.json"
        config.write_text(json.dumps({"websites": [{"URL": url, "checkInterval": 0.5} for url in sites.values()],
                                      "alertWindow": 3, "defaultTimeout": 2}))
        database = directory / "monitoring.db"
        history(database, sites, time.time())
        monitor = App("-m", "--silent", "-c", str(config), "-db", str(database))
        web = App("-w", "-c", str(config), "-db", str(database), "--listen", "127.0.0.1:0")
        try:
            _, line = web.wait_for_line(lambda text: text.startswith("serving "), timeout=20)
            found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            assert found is not None, line
            yield LiveWeb(server, monitor, web, f"http://127.0.0.1:{found.group(1)}", sites, database)
        finally:
            web.stop(signal.SIGINT)
            monitor.stop(signal.SIGINT)
