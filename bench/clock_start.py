"""The clocks' start: a `MonitorGraph` of N sites on a real clock (EventLoopScheduler) and the monitor's probe
pool, probing a local target server, its store a SQLite file; how late ticks start in the first second (the
first N ticks: every site's first) against the rest of the run, and how long `connect()` takes.

Run alone: ``python -m bench.clock_start SITES SECONDS [RUNS [freeze]]`` (prints JSON).
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from reactivex.disposable import CompositeDisposable
from reactivex.scheduler import EventLoopScheduler
from reactivex.subject import Subject

from bench.target_server import TargetServer
from monitoringapp.domain.config import Config, SiteConfig
from monitoringapp.graph.monitor import MonitorGraph
from monitoringapp.operators.stats import nearest_rank
from monitoringapp.store.sqlite.writer import SqliteEventLog
from monitoringapp.streams.http_probe import HttpProber
from monitoringapp.streams.probe_pool import ProbePool

Figures = dict[str, Any]


def _ms(values: list[float], fraction: float) -> float | None:
    return round(nearest_rank(sorted(values), fraction) * 1000, 1) if values else None


def clock_start(server: TargetServer, sites: int, seconds: float, freeze: bool = False) -> Figures:
    """One run: `sites` sites every second for `seconds`, wired as `-m` wires them (`freeze`: `gc.freeze()`
    once the graph is built, as `-m` does)."""
    config = Config(tuple(SiteConfig(server.url(i), 1.0, 1.0) for i in range(sites)))
    with tempfile.TemporaryDirectory(prefix="bench-clock-") as scratch:
        log = SqliteEventLog(Path(scratch) / "m.db")
        clock = EventLoopScheduler()
        io = ProbePool(core=4, max_workers=max(64, 4 * sites))
        prober = HttpProber(pool_size=sites)
        stop: Subject[Config] = Subject()
        graph = MonitorGraph(config, stop, prober.probe, clock, io)
        landed = threading.Event()
        running = CompositeDisposable(graph.probes.subscribe(log.append_probe, on_completed=landed.set),
                                      graph.transitions.subscribe(log.append_transition))
        if freeze:
            gc.freeze()
        began = time.perf_counter()
        running.add(graph.connect())
        connect_ms = (time.perf_counter() - began) * 1000
        time.sleep(seconds)
        clock.schedule(lambda *_: stop.on_completed())
        landed.wait(10.0)
        running.dispose()
        io.executor.shutdown(wait=False)
        log.close()
        clock.dispose()
        prober.close()
        if freeze:
            gc.unfreeze()
    lateness = list(graph.counters.lateness)
    first, rest = lateness[:sites], lateness[sites:]
    return {"sites": sites, "seconds": seconds, "connect_ms": round(connect_ms, 1),
            "ticks": graph.counters.ticks, "skipped": graph.counters.skipped,
            "first_ticks_late_ms": {"p50": _ms(first, 0.5), "p99": _ms(first, 0.99), "max": _ms(first, 1.0)},
            "later_ticks_late_ms": {"p50": _ms(rest, 0.5), "p99": _ms(rest, 0.99), "max": _ms(rest, 1.0)},
            "all_ticks_late_ms": {"p99": _ms(lateness, 0.99)}}


def main(argv: list[str]) -> None:
    sites, seconds = int(argv[0]), float(argv[1])
    runs = int(argv[2]) if len(argv) > 2 else 1
    freeze = len(argv) > 3 and argv[3] == "freeze"
    with TargetServer() as server:
        results = [clock_start(server, sites, seconds, freeze) for _ in range(runs)]
    print(json.dumps({"runs": results, "median_first_p99_ms": statistics.median(
        r["first_ticks_late_ms"]["p99"] for r in results)}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
