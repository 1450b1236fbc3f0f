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

from reactivex import abc
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


class InProcessMonitor:
    """A `MonitorGraph` of `config` wired as `-m` wires it (real clock, `HttpProber` on `io`, a SQLite log in
    `folder`), in this process: `connect` starts the clocks, `stop` stops them and waits for the probes in
    flight to land, then closes everything."""

    def __init__(self, config: Config, io: abc.SchedulerBase, folder: Path) -> None:
        self.db = folder / "m.db"
        self.log = SqliteEventLog(self.db)
        self.clock = EventLoopScheduler()
        self.prober = HttpProber(pool_size=len(config.sites))
        self._stop: Subject[Config] = Subject()
        self.graph = MonitorGraph(config, self._stop, self.prober.check, self.clock, io, tick_lateness=True)
        self._landed = threading.Event()
        self._running = CompositeDisposable(
            self.graph.probes.subscribe(self.log.append_probe, on_completed=self._landed.set),
            self.graph.transitions.subscribe(self.log.append_transition))

    def connect(self) -> None:
        self._running.add(self.graph.connect())

    def stop(self) -> None:
        self.clock.schedule(lambda *_: self._stop.on_completed())  # the clocks stop; probes in flight land
        self._landed.wait(10.0)
        self._running.dispose()
        self.log.close()
        self.clock.dispose()
        self.prober.close()


def clock_start(server: TargetServer, sites: int, seconds: float, freeze: bool = False) -> Figures:
    """One run: `sites` sites every second for `seconds`, with the monitor's probe pool (`freeze`:
    `gc.freeze()` once the graph is built)."""
    config = Config(tuple(SiteConfig(server.url(i), 1.0, 1.0) for i in range(sites)))
    io = ProbePool(max_workers=max(64, 4 * sites))
    with tempfile.TemporaryDirectory(prefix="bench-clock-") as scratch:
        monitor = InProcessMonitor(config, io, Path(scratch))
        if freeze:
            gc.freeze()
        began = time.perf_counter()
        monitor.connect()
        connect_ms = (time.perf_counter() - began) * 1000
        time.sleep(seconds)
        monitor.stop()
        io.executor.shutdown(wait=False)
        if freeze:
            gc.unfreeze()
    counters = monitor.graph.counters
    lateness = list(counters.lateness or ())
    first, rest = lateness[:sites], lateness[sites:]
    return {"sites": sites, "seconds": seconds, "connect_ms": round(connect_ms, 1),
            "ticks": counters.ticks, "skipped": counters.skipped,
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
