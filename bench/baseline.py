"""Bare transport loops beside the app: CPU per request of `requests` alone, of our probe transport, and of the
floor under both (`http.client` on one kept-alive connection).

Sequential GETs from this process against the target server, so the app's own
overhead per probe (clocks, threads, operators, SQLite) is what its figure adds
on top of these.
"""

from __future__ import annotations

import http.client
import json
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests

from bench.target_server import TargetServer
from monitoringapp.domain.config import SiteConfig, parse_config
from monitoringapp.streams.http_probe import HttpProber

T = TypeVar("T")
CONDITIONS = [{"path": "$.status", "equals": "ok"}, {"path": "$.queue.depth", "below": 1000}]

Figures = dict[str, Any]


def _cpu_ms_per_call(call: Callable[[T], object], urls: Sequence[T], rounds: int) -> float:
    for url in urls:  # open the connection, prepare the requests
        call(url)
    started = time.process_time()
    for _ in range(rounds):
        for url in urls:
            call(url)
    return (time.process_time() - started) * 1000 / (rounds * len(urls))


def conditions_cpu(server: TargetServer, sites: int = 50, rounds: int = 20, repeats: int = 7) -> Figures:
    """CPU ms per probe of a 4 kB JSON answer, plain (the body read and dropped) and judged by two `json`
    conditions (the body kept, parsed, two JSONPaths found), interleaved `repeats` times; medians, and their
    ratio. The server (the Python target, its own process) answers `/json-4k...` with `JSON_4K`."""
    urls = [f"http://127.0.0.1:{server.port}/json-4k?{n}" for n in range(sites)]
    plain = [SiteConfig(url, 1.0, 1.0) for url in urls]
    checked = parse_config(json.dumps({"websites": [{"URL": url, "timeout": 1.0, "json": CONDITIONS}
                                                    for url in urls]})).sites
    prober = HttpProber(pool_size=2 * sites)
    try:
        assert all(prober.check(site).available for site in checked), "the conditions hold"
        plain_ms, checked_ms = [], []
        for _ in range(repeats):
            plain_ms.append(_cpu_ms_per_call(prober.check, plain, rounds))
            checked_ms.append(_cpu_ms_per_call(prober.check, checked, rounds))
    finally:
        prober.close()
    plain_median, checked_median = statistics.median(plain_ms), statistics.median(checked_ms)
    return {"plain_ms": round(plain_median, 4), "json_conditions_ms": round(checked_median, 4),
            "ratio": round(checked_median / plain_median, 3)}


def transport_cpu(server: TargetServer, sites: int = 200, rounds: int = 10) -> Figures:
    """CPU ms per request: `requests.Session.get`, `HttpProber.probe` (the app's transport), and the floor: a GET
    on one kept-alive `http.client.HTTPConnection`, its body read (what any Python HTTP client costs at least)."""
    urls = [server.url(n) for n in range(sites)]
    session = requests.Session()
    prober = HttpProber(pool_size=sites)
    floor = http.client.HTTPConnection("127.0.0.1", server.port, timeout=1.0)

    def http_client_get(url: str) -> bytes:
        floor.request("GET", urlsplit(url).path)
        return floor.getresponse().read()

    try:
        session_get = _cpu_ms_per_call(lambda url: session.get(url, timeout=1.0).content, urls, rounds)
        probe = _cpu_ms_per_call(lambda url: prober.probe(url, 1.0), urls, rounds)
        http_client = _cpu_ms_per_call(http_client_get, urls, rounds)
    finally:
        session.close()
        prober.close()
        floor.close()
    return {"requests_session_get_ms": round(session_get, 4), "http_prober_probe_ms": round(probe, 4),
            "http_client_floor_ms": round(http_client, 4)}
