"""Probers and evaluators on NATS JetStream (issue 14), as real processes against a real local nats-server:

- evaluator throughput: a stream filled with PROBES probes of SITES sites from two locations, judged by a fresh
  `-e` (its durable consumer fetching batches): probes per second into the projection, and CPU per probe;
- prober cost: CPU per probe of `-m --nats` (publishing) beside single-machine `-m` (storing in SQLite and
  judging), interleaved, on the same local targets;
- end to end: probers and an evaluator running, every site's target stopped at once: the delay from the
  scheduled time of the probe that crossed the threshold to the evaluator's alert line (p50, p99), with one
  location at quorum 1 and two locations at quorum 2.

Run from the repo root: `.venv/bin/python -m bench.locations [runs]` (default 3; medians). Nothing leaves
127.0.0.1. The machine may be shared: the figures say what one run measured, not what a quiet machine gives.
"""

from __future__ import annotations

import functools
import json
import re
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from bench.capacity import measure_window, run_monitor
from bench.nats_servers import NatsCluster
from bench.processes import App, wait_until
from bench.procstat import cpu_seconds
from bench.target_server import TargetServer
from monitoringapp.domain.events import Probe
from monitoringapp.domain.timefmt import parse_iso
from monitoringapp.store.jetstream import open_prober_log

Figures = dict[str, Any]
SITES = 1000
TICKS = 60  # per site and location: 120,000 probes
E2E_SITES = 200
WINDOW = 5.0
_ALERT = re.compile(r"^Website (\S+) is down\. availability=\S+, time=(\S+)$")


def _config(path: Path, urls: list[str], *, interval: float = 1.0, quorum: int = 1) -> Path:
    path.write_text(json.dumps({"websites": [{"URL": url} for url in urls], "defaultCheckInterval": interval,
                                "alertWindow": WINDOW, "quorum": quorum,
                                "reports": [{"every": 3600, "windows": [60]}]}))
    return path


def _probes_projected(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as connection:
            return int(connection.execute("SELECT count(*) FROM website_monitoring").fetchone()[0])
    except sqlite3.OperationalError:  # the evaluator has not made its tables yet
        return 0


def evaluator_throughput() -> Figures:
    """A fresh `-e` judging a stream that already holds every probe: probes/s and CPU ms per probe."""
    urls = [f"http://127.0.0.1:9/{n}" for n in range(SITES)]  # never probed: the evaluator only reads them
    start = time.time() - 2 * TICKS
    with tempfile.TemporaryDirectory(prefix="bench-evaluator-") as scratch, NatsCluster(1) as cluster:
        work = Path(scratch)
        config = _config(work / "config.json", urls)
        publishing = 0.0
        for location in ("eu", "us"):
            writer = open_prober_log(cluster.urls, location, work / f"spool-{location}.db")
            began = time.monotonic()
            for tick in range(TICKS):
                for n, url in enumerate(urls):
                    writer.append_probe(Probe(start + tick + n / SITES, url, (tick + n) % 7 != 0, 200, 1.0,
                                              location=location))
            if not writer.flush(120.0):
                raise RuntimeError("the stream did not take the probes")
            publishing += time.monotonic() - began
            writer.close()
        total = 2 * TICKS * SITES
        projection = work / "projection.db"
        app = App("-e", "--silent", "-c", str(config), "--nats", ",".join(cluster.urls), "-db", str(projection))
        try:
            wait_until(lambda: _probes_projected(projection) > 0, 60, "the first projected probe", step=0.02,
                       alive=app)
            first, cpu0, count0 = time.monotonic(), cpu_seconds(app.process.pid), _probes_projected(projection)
            wait_until(lambda: _probes_projected(projection) >= total, 300, "every probe projected", step=0.05,
                       alive=app)
            elapsed, cpu = time.monotonic() - first, cpu_seconds(app.process.pid) - cpu0
        finally:
            app.stop(signal.SIGINT, timeout=30)
        judged = total - count0
        return {"probes": total, "probes_per_s": round(judged / elapsed), "cpu_ms_per_probe":
                round(cpu * 1000 / judged, 4), "published_per_s": round(total / publishing)}


def prober_cost(server: TargetServer, sites: int = 200, warmup: float = 5.0, seconds: float = 15.0) -> Figures:
    """CPU per probe of `-m --nats` (publishing) and of single-machine `-m`, one run of each."""
    single = run_monitor(server, sites, 1.0, warmup, seconds)
    with tempfile.TemporaryDirectory(prefix="bench-prober-") as scratch, NatsCluster(1) as cluster:
        work = Path(scratch)
        config = _config(work / "config.json", [server.url(n) for n in range(sites)])
        app = App("-m", "--silent", "-c", str(config), "--nats", ",".join(cluster.urls), "--location", "eu",
                  "--spool", str(work / "spool.db"))
        try:
            prober = measure_window(server, lambda: [app.process.pid], warmup, seconds)
        finally:
            app.stop(signal.SIGINT, timeout=30)
    return {"monitor_cpu_ms_per_probe": single["cpu_ms_per_probe"],
            "prober_cpu_ms_per_probe": prober["cpu_ms_per_probe"],
            "prober_peak_rss_mb": prober["peak_rss_mb"], "monitor_peak_rss_mb": single["peak_rss_mb"]}


def probe_to_alert(locations: int) -> Figures:
    """Seconds from the crossing probe's scheduled time to the evaluator's alert line, for every site, with
    `locations` probers at a quorum of `locations`."""
    server = TargetServer(prefer_nginx=False)
    wall_minus_monotonic = time.time() - time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as scratch, NatsCluster(1) as cluster:
        work = Path(scratch)
        config = _config(work / "config.json", [server.url(n) for n in range(E2E_SITES)], quorum=locations)
        urls = ",".join(cluster.urls)
        apps = [App("-m", "--silent", "-c", str(config), "--nats", urls, "--location", f"l{n}",
                    "--spool", str(work / f"spool-{n}.db")) for n in range(locations)]
        evaluator = App("-e", "-c", str(config), "--nats", urls, "-db", str(work / "projection.db"))
        apps.append(evaluator)
        try:
            time.sleep(WINDOW + 3.0)  # every window full of successes
            stopped, stopped_at = time.time(), time.monotonic()
            server.close()  # every site down for every location at once

            def alerted() -> list[tuple[float, str]] | None:
                lines = [(arrived, text) for arrived, text in evaluator.lines
                         if arrived >= stopped_at and _ALERT.match(text)]
                return lines if len(lines) >= E2E_SITES else None

            lines = wait_until(alerted, 60, "an alert for every site", step=0.1, alive=evaluator)
            early = [text for arrived, text in evaluator.lines if arrived < stopped_at and _ALERT.match(text)]
        finally:
            for app in apps:
                app.stop(signal.SIGINT, timeout=30)
    if early:
        raise RuntimeError(f"{len(early)} alert(s) before the outage, e.g. {early[0]}")
    delays = []
    for arrived, text in lines:
        matched = _ALERT.match(text)
        assert matched is not None
        delays.append(arrived + wall_minus_monotonic - parse_iso(matched.group(2)))
    if min(delays) < 0 or max(delays) > 30:
        raise RuntimeError(f"alert delays outside 0..30 s: {min(delays):.3f} .. {max(delays):.3f} "
                           f"(the outage began at {stopped:.3f})")
    delays.sort()
    return {"alerts": len(delays), "p50_s": round(delays[len(delays) // 2], 3),
            "p99_s": round(delays[min(len(delays) - 1, int(len(delays) * 0.99))], 3)}


def _median(runs: list[Figures]) -> Figures:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def _repeated(label: str, runs: int, once: Callable[[], Figures]) -> Figures:
    results = []
    for n in range(runs):
        begun = time.monotonic()
        results.append(once())
        print(f"  {label} run {n + 1}/{runs}: {time.monotonic() - begun:.1f}s {results[-1]}", file=sys.stderr,
              flush=True)
    return _median(results)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    throughput = _repeated("evaluator throughput", runs, evaluator_throughput)
    print(f"one evaluator, {2 * TICKS * SITES:,} probes of {SITES:,} sites from 2 locations already in the stream: "
          f"{throughput['probes_per_s']:,.0f} probes/s judged and projected, "
          f"{throughput['cpu_ms_per_probe']:.3f} ms CPU per probe; one writer appended them to the stream at "
          f"{throughput['published_per_s']:,.0f} probes/s")
    with TargetServer() as server:
        cost = _repeated("prober vs -m", runs, lambda: prober_cost(server))
    print(f"200 sites at 1 s: CPU per probe -m --nats (prober, publishing) {cost['prober_cpu_ms_per_probe']:.3f} ms, "
          f"single-machine -m {cost['monitor_cpu_ms_per_probe']:.3f} ms; peak RSS {cost['prober_peak_rss_mb']:.0f} "
          f"MB vs {cost['monitor_peak_rss_mb']:.0f} MB")
    for locations in (1, 2):
        delay = _repeated(f"probe to alert, {locations} location(s)", runs,
                          functools.partial(probe_to_alert, locations))
        print(f"probe -> alert line, {E2E_SITES} sites down at once, {locations} location(s) at quorum {locations}: "
              f"p50 {delay['p50_s'] * 1000:.0f} ms, p99 {delay['p99_s'] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
