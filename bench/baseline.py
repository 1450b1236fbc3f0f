"""Bare transport loops beside the app: CPU per request of `requests` alone and of our probe transport.

Sequential GETs from this process against the target server, so the app's own
overhead per probe (clocks, threads, operators, SQLite) is what its figure adds
on top of these.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from bench.target_server import TargetServer
from monitoringapp.streams.http_probe import HttpProber

Figures = dict[str, Any]


def _cpu_ms_per_call(call: Callable[[str], object], urls: list[str], rounds: int) -> float:
    for url in urls:  # open the connection, prepare the requests
        call(url)
    started = time.process_time()
    for _ in range(rounds):
        for url in urls:
            call(url)
    return (time.process_time() - started) * 1000 / (rounds * len(urls))


def transport_cpu(server: TargetServer, sites: int = 200, rounds: int = 10) -> Figures:
    """CPU ms per request: `requests.Session.get`, and `HttpProber.probe` (the app's transport)."""
    urls = [server.url(n) for n in range(sites)]
    session = requests.Session()
    prober = HttpProber(pool_size=sites)
    try:
        session_get = _cpu_ms_per_call(lambda url: session.get(url, timeout=1.0).content, urls, rounds)
        probe = _cpu_ms_per_call(lambda url: prober.probe(url, 1.0), urls, rounds)
    finally:
        session.close()
        prober.close()
    return {"requests_session_get_ms": round(session_get, 4), "http_prober_probe_ms": round(probe, 4)}
