"""The web reader's figures (`-w`): server time of `/`, `/api/v1/sites` and `/metrics` with 100 sites and 90
days of 1-minute checks (rollups; raw probes purged but the last hour), its start-up, its steady CPU while a
monitor probes those 100 sites every second and one browser follows the live events, and what the rollups
cost the monitor's writer.

Run from the repo root: `.venv/bin/python -m bench.web [runs]` (default 3; medians).
"""

from __future__ import annotations

import json
import random
import re
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.capacity import write_config
from bench.processes import App, wait_until
from bench.procstat import cpu_seconds
from bench.target_server import TargetServer
from monitoringapp.domain.events import Probe
from monitoringapp.operators.rollup import HOUR, MINUTE, ResponseSketch, Rollup
from monitoringapp.store.sqlite.rollups import rollup_row
from monitoringapp.store.sqlite.schema import (
    HOUR_TABLE,
    MINUTE_TABLE,
    PROBE_TABLE,
    insert_events,
    open_for_writing,
    write_transaction,
)

SITES = 100
DAYS = 90
MINUTE_DAYS = 14
REQUESTS = 200
CHROMIUM = "/usr/bin/chromium"


def _template_minutes(generator: random.Random, count: int) -> list[Rollup]:
    """Minutes of 60 probes each, one in 500 failing: copied for every site and minute (60 probes a minute for
    100 sites over 90 days are 13 million probes; the rows are what the page reads, not how they were made)."""
    made = []
    for _ in range(count):
        minute = Rollup("", 0.0, MINUTE)
        for _ in range(60):
            up = generator.random() > 0.002
            minute.add(Probe(0.0, "", up, 200 if up else 503, generator.lognormvariate(3.2, 0.4)))
        made.append(minute)
    return made


def _copy(template: Rollup, host: str, start: float, span: float) -> Rollup:
    return Rollup(host, start, span, template.checks, template.available, template.rt_count, template.rt_sum,
                  template.rt_min, template.rt_max, ResponseSketch(dict(template.sketch.counts)),
                  dict(template.outcomes))


def build_database(path: Path, urls: list[str], now: float) -> dict[str, Any]:
    """100 sites, 90 days: hour rows for 90 days, minute rows for the last 14, raw probes for the last hour."""
    generator = random.Random(12)
    minutes = _template_minutes(generator, 64)
    hours = []
    for _ in range(16):
        hour = Rollup("", 0.0, HOUR)
        for minute in generator.sample(minutes, 60):
            hour.merge(minute)
        hours.append(hour)
    started = time.perf_counter()
    connection = open_for_writing(path)
    hour_now = now - now % HOUR
    minute_now = now - now % MINUTE
    columns = "host, start, checks, available, rtCount, rtSum, rtMin, rtMax, sketch, outcomes"
    for url in urls:
        with write_transaction(connection):
            connection.executemany(
                f"INSERT INTO {HOUR_TABLE} ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (rollup_row(_copy(hours[n % 16], url, hour_now - n * HOUR, HOUR)) for n in range(DAYS * 24)))
            connection.executemany(
                f"INSERT INTO {MINUTE_TABLE} ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (rollup_row(_copy(minutes[n % 64], url, minute_now - n * MINUTE, MINUTE))
                 for n in range(MINUTE_DAYS * 1440)))
            insert_events(connection, (Probe(now - 3600 + n * 60, url, True, 200, 25.0) for n in range(60)))
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    rows = {table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in (PROBE_TABLE, MINUTE_TABLE, HOUR_TABLE)}
    connection.close()
    return {"build_s": round(time.perf_counter() - started, 1), "rows": rows,
            "file_mb": round(path.stat().st_size / 1e6, 1)}


def _get(url: str, encoding: str = "identity") -> tuple[float, float, bytes]:
    """(server ms from Server-Timing, round-trip ms, body as sent: compressed when `encoding` is gzip)."""
    started = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept-Encoding": encoding}),
                                timeout=30) as response:
        body = response.read()
        timing = response.headers.get("Server-Timing", "")
    trip = (time.perf_counter() - started) * 1000
    found = re.search(r"dur=([\d.]+)", timing)
    return (float(found.group(1)) if found else float("nan")), trip, body


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(fraction * len(ordered) + 0.999999) - 1))]


def request_times(base: str, path: str, count: int, encoding: str = "identity") -> dict[str, float]:
    server, trip, size = [], [], 0
    for _ in range(count):
        s, t, body = _get(base + path, encoding)
        server.append(s)
        trip.append(t)
        size = len(body)
    return {"server_p50_ms": round(_percentile(server, 0.5), 2), "server_p95_ms": round(_percentile(server, 0.95), 2),
            "round_trip_p95_ms": round(_percentile(trip, 0.95), 2), "kb_sent": round(size / 1024, 1)}


class SseListener:
    """One live page: Chromium on `/` when it is installed (its EventSource), else a plain reader of `/events`."""

    def __init__(self, base: str) -> None:
        self.kind = "chromium" if Path(CHROMIUM).exists() else "python"
        self.events = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(base,), daemon=True)
        self._thread.start()

    def _run(self, base: str) -> None:
        if self.kind == "chromium":
            from playwright.sync_api import sync_playwright

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run"])
                page = browser.new_page()
                page.goto(base + "/", timeout=30_000)
                while not self._stop.wait(0.5):
                    self.events = int(page.evaluate("document.querySelectorAll('#live').length"))
                browser.close()
            return
        with urllib.request.urlopen(base + "/events", timeout=30) as stream:
            for line in stream:
                if self._stop.is_set():
                    return
                if line.startswith(b"event: "):
                    self.events += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)


def one_run(work: Path, database: Path, urls: list[str], server: TargetServer) -> dict[str, Any]:
    config = work / "config.json"
    write_config(config, urls, 1.0)
    started = time.monotonic()
    web = App("-w", "-c", str(config), "-db", str(database), "--listen", "127.0.0.1:0")
    monitor: App | None = None
    try:
        _, line = web.wait_for_line(lambda text: text.startswith("serving "), timeout=60)
        port = re.search(r":(\d+)/", line).group(1)  # type: ignore[union-attr]
        base = f"http://127.0.0.1:{port}"

        def seeded() -> bool:
            sites = json.loads(_get(base + "/api/v1/sites")[2])["sites"]
            return len(sites) == len(urls) and sites[0]["uptime"]["90d"] is not None

        wait_until(seeded, 120, "the board seeded", step=0.1)
        figures: dict[str, Any] = {"seeded_s": round(time.monotonic() - started, 2)}
        for _ in range(5):
            _get(base + "/")  # warm up templates and caches
        figures["page"] = request_times(base, "/", REQUESTS)
        figures["page_gzip"] = request_times(base, "/", REQUESTS, "gzip")  # what a browser is sent
        figures["api_sites"] = request_times(base, "/api/v1/sites", REQUESTS)
        figures["metrics"] = request_times(base, "/metrics", REQUESTS)
        figures["page_kb"] = round(len(_get(base + "/")[2]) / 1024, 1)

        monitor = App("-m", "--silent", "-c", str(config), "-db", str(database))
        listener = SseListener(base)
        time.sleep(8)  # warm-up: the monitor's first commits, the browser connected
        cpu0, t0 = cpu_seconds(web.process.pid), time.monotonic()
        time.sleep(20)
        cpu1, t1 = cpu_seconds(web.process.pid), time.monotonic()
        listener.close()
        figures["steady_cpu_percent"] = round((cpu1 - cpu0) / (t1 - t0) * 100, 2)
        figures["listener"] = listener.kind
        figures["live_streams_seen"] = listener.events
        return figures
    finally:
        if monitor is not None:
            monitor.stop(signal.SIGTERM, timeout=20)
        status, stderr = web.stop(signal.SIGINT)
        if status != 0:
            raise RuntimeError(f"-w exited {status}: {stderr[-2000:]}")


def writer_cost(rows: int = 100_000, sites: int = 100) -> dict[str, float]:
    """Microseconds per probe to append, with and without counting it into the rollups (interleaved, medians)."""
    from monitoringapp.store.sqlite.rollups import OpenRollups

    probes = [Probe(1_796_000_000.0 + (n // sites), f"http://site{n % sites}.test/", True, 200, 10.0 + n % 17)
              for n in range(rows)]
    plain: list[float] = []
    rolled: list[float] = []
    for _ in range(3):
        for with_rollups in (False, True):
            with tempfile.TemporaryDirectory(prefix="bench-writer-") as scratch:
                connection = open_for_writing(Path(scratch) / "w.db")
                rollups = OpenRollups()
                started = time.perf_counter()
                for at in range(0, rows, sites):  # one commit a second's worth of probes, as the writer does
                    batch = probes[at:at + sites]
                    with write_transaction(connection):
                        insert_events(connection, batch)
                        if with_rollups:
                            rollups.add(connection, batch)
                (rolled if with_rollups else plain).append((time.perf_counter() - started) / rows * 1e6)
                connection.close()
    return {"append_us_per_probe": round(statistics.median(plain), 2),
            "append_with_rollups_us_per_probe": round(statistics.median(rolled), 2)}


def live_delays(changes: int = 10) -> dict[str, float]:
    """Seconds from a probe's commit to the live event that shows its site's new state: a site flipped
    between up and down `changes` times, each flip one committed probe, read as a browser's EventSource would."""
    from monitoringapp.store.sqlite.writer import SqliteEventLog

    with tempfile.TemporaryDirectory(prefix="bench-live-") as scratch:
        work = Path(scratch)
        database, config = work / "live.db", work / "config.json"
        url = "http://live.test/"
        write_config(config, [url], 1.0)
        writer = SqliteEventLog(database, flush_interval=0.001)
        writer.append_probe(Probe(time.time(), url, True, 200, 5.0))
        web = App("-w", "-c", str(config), "-db", str(database), "--listen", "127.0.0.1:0")
        arrived: list[tuple[float, str]] = []
        delays = []
        try:
            _, line = web.wait_for_line(lambda text: text.startswith("serving "), timeout=60)
            base = "http://127.0.0.1:" + re.search(r":(\d+)/", line).group(1)  # type: ignore[union-attr]

            def listen() -> None:
                with urllib.request.urlopen(base + "/events", timeout=60) as stream:
                    for raw in stream:
                        if raw.startswith(b"data: "):
                            for site in json.loads(raw[6:])["sites"]:
                                arrived.append((time.monotonic(), site["state"]))

            threading.Thread(target=listen, daemon=True).start()
            time.sleep(2)
            for n in range(changes):
                up = n % 2 == 1
                seen = len(arrived)
                committed = time.monotonic()
                writer.append_probe(Probe(time.time(), url, up, 200 if up else 503, 5.0))
                wanted = "up" if up else "down"

                def shown(wanted: str = wanted, seen: int = seen) -> float | None:
                    return next((t for t, state in arrived[seen:] if state == wanted), None)

                at = wait_until(shown, 10, "the live event", step=0.005)
                delays.append(at - committed)
                time.sleep(0.3)
        finally:
            web.stop(signal.SIGINT)
            writer.close()
    return {"median_s": round(statistics.median(delays), 3), "max_s": round(max(delays), 3)}


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    results: dict[str, Any] = {"writer": writer_cost(), "live": live_delays()}
    print(f"writer: {results['writer']}, live: {results['live']}", file=sys.stderr)
    with TargetServer() as server, tempfile.TemporaryDirectory(prefix="bench-web-") as scratch:
        work = Path(scratch)
        urls = [server.url(n) for n in range(SITES)]
        template = work / "template.db"
        results["database"] = build_database(template, urls, time.time())
        print(f"database: {results['database']}", file=sys.stderr)
        found = []
        for n in range(runs):
            database = work / f"run{n}.db"
            shutil.copyfile(template, database)
            found.append(one_run(work, database, urls, server))
            print(f"run {n + 1}/{runs}: {found[-1]}", file=sys.stderr)
        results["runs"] = found

        def median(*keys: str) -> float:
            values = []
            for run in found:
                value: Any = run
                for key in keys:
                    value = value[key]
                values.append(value)
            return float(statistics.median(values))

        results["median"] = {
            "page_server_p95_ms": median("page", "server_p95_ms"),
            "page_server_p50_ms": median("page", "server_p50_ms"),
            "page_gzip_server_p50_ms": median("page_gzip", "server_p50_ms"),
            "page_gzip_kb": median("page_gzip", "kb_sent"),
            "api_sites_server_p95_ms": median("api_sites", "server_p95_ms"),
            "metrics_server_p95_ms": median("metrics", "server_p95_ms"),
            "seeded_s": median("seeded_s"),
            "steady_cpu_percent": median("steady_cpu_percent"),
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
