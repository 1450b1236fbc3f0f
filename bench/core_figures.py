"""Figures for the monitoring core: operator throughput, window memory, end-to-end probe rate, index cost.

Run: `.venv/bin/python bench/core_figures.py` (about 3 minutes on 2 cores). Each figure is the median of
`--runs` runs (default 3). Measures only; nothing here tunes anything.

(a) probe events per second through the alert and report operators, fed synchronously (no I/O, no clock);
(b) memory after one virtual hour of 100 sites at 1 s in the report windows (120/600/3600 s) and the
    120 s alert window: tracemalloc's count of live Python allocations, and the RSS growth, each measured
    in a fresh child process;
(c) probes per second the real pipeline (Monitor on an EventLoopScheduler clock and a ThreadPoolScheduler,
    requests, SQLite) stores end to end against an HTTP server in another process on 127.0.0.1;
(d) what the website_monitoring timestamp index costs the probe write path (rows/s, 1000-row
    transactions like the writer's) and what it buys the restart read of the last 10 minutes.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import reactivex
from reactivex import operators as ops
from reactivex.subject import Subject

from monitoringapp.domain.config import AlertPolicy
from monitoringapp.domain.events import AlertTransition, ErrorKind, Probe, Report, ReportRequest
from monitoringapp.sinks.table import format_table

SITES, HOUR = 100, 3600
SPANS = (120.0, 600.0, 3600.0)
T0 = 1_764_000_000.0


def hour_of_probes(sites: int = SITES, seconds: int = HOUR) -> list[Probe]:
    """One probe per site per second; every 7th fails, some with no response at all."""
    hosts = [f"http://site{i}.test/" for i in range(sites)]
    probes = []
    for second in range(seconds):
        for i, host in enumerate(hosts):
            n = second + i
            if n % 7:
                probes.append(Probe(T0 + second, host, True, 200, float(n % 90 + 5)))
            elif n % 2:
                probes.append(Probe(T0 + second, host, False, 503, 12.0))
            else:
                probes.append(Probe(T0 + second, host, False, None, None, ErrorKind.TIMEOUT))
    return probes


def run_operators(probes: list[Probe]) -> tuple[int, int]:
    """Push `probes` through the alert and report operators as the monitor wires them; (transitions, reports)."""
    from monitoringapp.operators.alerts import alert_transitions
    from monitoringapp.operators.reports import window_reports

    source: Subject[Probe] = Subject()
    requests: Subject[ReportRequest] = Subject()
    shared = source.pipe(ops.share())
    transitions: list[AlertTransition] = []
    reports: list[Report] = []
    shared.pipe(alert_transitions(reactivex.just(AlertPolicy()))).subscribe(transitions.append)
    events: reactivex.Observable[Probe | ReportRequest] = reactivex.merge(shared, requests)
    events.pipe(window_reports(SPANS)).subscribe(reports.append)
    next_second = T0 + 1
    for probe in probes:
        if probe.timestamp >= next_second:  # the report clock, between seconds as on the real clock
            second = int(next_second - T0)
            if second % 10 == 0:
                requests.on_next(ReportRequest(next_second, (120.0, 600.0)))
            if second % 60 == 0:
                requests.on_next(ReportRequest(next_second, (3600.0,)))
            next_second += 1
        source.on_next(probe)
    return len(transitions), len(reports)


def figure_a(runs: int) -> list[list[str]]:
    probes = hour_of_probes(SITES, 600)
    rates = []
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        run_operators(probes)
        rates.append(len(probes) / (time.perf_counter() - started))
    return [["(a) operators: probe events/s (alert + reports, 100 sites)", f"{statistics.median(rates):,.0f}",
             f"{len(probes):,} events; runs: " + ", ".join(f"{r:,.0f}" for r in rates)]]


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def memory_child(trace: bool) -> dict[str, float]:
    """In a fresh process: memory held after one virtual hour through the operators."""
    from monitoringapp.operators.alerts import alert_transitions
    from monitoringapp.operators.reports import window_reports

    gc.collect()
    rss_before = rss_kib()
    if trace:
        tracemalloc.start()
    source: Subject[Probe] = Subject()
    requests: Subject[ReportRequest] = Subject()
    shared = source.pipe(ops.share())
    shared.pipe(alert_transitions(reactivex.just(AlertPolicy()))).subscribe(lambda _: None)
    events: reactivex.Observable[Probe | ReportRequest] = reactivex.merge(shared, requests)
    events.pipe(window_reports(SPANS)).subscribe(lambda _: None)
    hosts = [f"http://site{i}.test/" for i in range(SITES)]
    for second in range(HOUR):  # generated on the fly, so only what the operators keep stays alive
        for i, host in enumerate(hosts):
            up = (second + i) % 7 != 0
            source.on_next(Probe(T0 + second, host, up, 200 if up else 503, float((second + i) % 90 + 5)))
        if second % 60 == 59:
            requests.on_next(ReportRequest(T0 + second, SPANS))
    gc.collect()
    figures = {"rss_growth_mib": (rss_kib() - rss_before) / 1024}
    if trace:
        current, peak = tracemalloc.get_traced_memory()
        figures.update(traced_mib=current / 2**20, traced_peak_mib=peak / 2**20)
    return figures


def figure_b(runs: int) -> list[list[str]]:
    def child(trace: bool) -> dict[str, float]:
        flag = "--memory-child-traced" if trace else "--memory-child"
        done = subprocess.run([sys.executable, __file__, flag], capture_output=True, text=True, check=True,
                              timeout=600)
        return dict(json.loads(done.stdout))

    traced = [child(True)["traced_mib"] for _ in range(runs)]
    rss = [child(False)["rss_growth_mib"] for _ in range(runs)]
    ideal = SITES * (HOUR + 120) * 16 / 2**20
    return [
        ["(b) memory, 1 virtual hour, 100 sites at 1 s: traced (MiB)", f"{statistics.median(traced):.1f}",
         f"arrays alone: {ideal:.1f} MiB (16 B per probe, 3600 s + 120 s alert window)"],
        ["(b) same, RSS growth (MiB)", f"{statistics.median(rss):.1f}",
         "runs: " + ", ".join(f"{r:.1f}" for r in rss)],
    ]


_SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *args): pass
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
ThreadingHTTPServer.request_queue_size = 1024  # as bench.http_server.LocalHTTPServer: no SYN dropped
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def pipeline_run(sites: int, interval: float, seconds: float, port: int) -> dict[str, float]:
    """Monitor with real clocks, probes and store for `seconds`; the steady-state stored probe rate."""
    from reactivex.scheduler import ThreadPoolScheduler

    from bench.clock_start import InProcessMonitor
    from monitoringapp.domain.config import Config, SiteConfig
    from monitoringapp.domain.timefmt import iso_utc

    config = Config(tuple(SiteConfig(f"http://127.0.0.1:{port}/site/{i}", interval, 2.0) for i in range(sites)))
    with tempfile.TemporaryDirectory() as folder:
        monitor = InProcessMonitor(config, ThreadPoolScheduler(max_workers=max(64, 4 * sites)), Path(folder))
        started = time.time()
        monitor.connect()
        time.sleep(seconds)
        monitor.stop()
        # Steady state: probes due from 2 s after the start to 1 s before the end.
        first, last = started + 2.0, started + seconds - 1.0
        with sqlite3.connect(monitor.db) as reader:
            stored = reader.execute("SELECT count(*) FROM website_monitoring WHERE timestamp >= ? AND timestamp < ?",
                                    (iso_utc(first), iso_utc(last))).fetchone()[0]
        lateness = sorted(monitor.graph.counters.lateness or ())
    return {"rate": stored / (last - first), "skipped": monitor.graph.counters.skipped,
            "late_p99_ms": lateness[int(0.99 * (len(lateness) - 1))] * 1000 if lateness else 0.0}


def figure_c(runs: int, seconds: float) -> list[list[str]]:
    server = subprocess.Popen([sys.executable, "-c", _SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        lines = []
        for sites, interval in ((100, 0.5), (200, 0.05)):
            results = [pipeline_run(sites, interval, seconds, port) for _ in range(runs)]
            rates = [r["rate"] for r in results]
            demand = sites / interval
            lines.append([
                f"(c) end to end: stored probes/s, {sites} sites at {interval:g} s (asks {demand:,.0f}/s)",
                f"{statistics.median(rates):,.0f}",
                f"skipped ticks (median) {statistics.median(r['skipped'] for r in results):,.0f}; "
                f"tick lateness p99 {statistics.median(r['late_p99_ms'] for r in results):.1f} ms",
            ])
        return lines
    finally:
        server.terminate()
        server.wait(10)


def write_rate(with_index: bool, rows: int, batch: int = 1000) -> tuple[float, float, float]:
    """Into a fresh store, with or without the index: (rows/s inserted, ms to read the last 10 minutes back
    as the restart does, ms to count them in SQL alone)."""
    from monitoringapp.domain.timefmt import iso_utc
    from monitoringapp.store.sqlite.reader import SqliteLogReader
    from monitoringapp.store.sqlite.schema import INSERT_PROBE, open_for_writing, probe_row

    hosts = [f"http://site{i}.test/" for i in range(SITES)]
    data = [probe_row(Probe(T0 + n // SITES, hosts[n % SITES], True, 200, 12.5)) for n in range(rows)]
    with tempfile.TemporaryDirectory() as folder:
        connection = open_for_writing(Path(folder) / "bench.db")
        if not with_index:
            connection.execute("DROP INDEX website_monitoring_by_time")
        started = time.perf_counter()
        for i in range(0, rows, batch):
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(INSERT_PROBE, data[i:i + batch])
            connection.execute("COMMIT")
        rate = rows / (time.perf_counter() - started)
        reader = SqliteLogReader(Path(folder) / "bench.db")
        started = time.perf_counter()
        recent = reader.probes_since(T0 + rows // SITES - 600).events
        read_ms = (time.perf_counter() - started) * 1000
        reader.close()
        assert len(recent) == 599 * SITES  # seconds 3001..3599 of the hour
        started = time.perf_counter()
        connection.execute("SELECT count(*) FROM website_monitoring WHERE timestamp > ?",
                           (iso_utc(T0 + rows // SITES - 600),)).fetchone()
        count_ms = (time.perf_counter() - started) * 1000
        connection.close()
    return rate, read_ms, count_ms


def figure_d(runs: int) -> list[list[str]]:
    rows = SITES * HOUR  # one hour of 100 sites at 1 s
    results = {flag: [write_rate(flag, rows) for _ in range(runs)] for flag in (True, False)}

    def median(flag: bool, at: int) -> float:
        return statistics.median(r[at] for r in results[flag])

    return [
        ["(d) write rows/s with the timestamp index", f"{median(True, 0):,.0f}",
         f"{rows:,} rows (1 h of 100 sites) in 1000-row transactions; last 10 min: restart read "
         f"{median(True, 1):.0f} ms, SQL count {median(True, 2):.1f} ms"],
        ["(d) write rows/s without it", f"{median(False, 0):,.0f}",
         f"index costs {100 * (1 - median(True, 0) / median(False, 0)):.0f} % of the write rate; last 10 min: "
         f"restart read {median(False, 1):.0f} ms, SQL count {median(False, 2):.1f} ms (full scan)"],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each end-to-end run")
    parser.add_argument("--only", choices=["a", "b", "c", "d"], action="append")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--memory-child-traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child or args.memory_child_traced:
        print(json.dumps(memory_child(trace=args.memory_child_traced)))
        return
    figures: dict[str, Callable[[], list[list[str]]]] = {
        "a": lambda: figure_a(args.runs),
        "b": lambda: figure_b(args.runs),
        "c": lambda: figure_c(args.runs, args.seconds),
        "d": lambda: figure_d(args.runs),
    }
    rows: list[list[str]] = []
    for name in args.only or sorted(figures):
        rows.extend(figures[name]())
    print(f"monitoringApp core figures: median of {args.runs} run(s), {os.cpu_count()} CPU(s), "
          f"Python {sys.version.split()[0]}")
    print("\n".join(format_table(("figure", "median", "notes"), rows, (False, True, False))))


if __name__ == "__main__":
    main()
