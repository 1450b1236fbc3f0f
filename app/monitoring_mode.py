"""`-m`: monitor the config's sites in real time until SIGINT or SIGTERM."""

from __future__ import annotations

import json
import queue
import signal
import sys
from pathlib import Path
from types import FrameType

from reactivex import operators as ops
from reactivex.scheduler import EventLoopScheduler
from reactivex.subject import Subject

from app.monitor import Monitor, load_past, wait_on_clock
from app.retention import start_retention
from domain.config import Config, ConfigError
from domain.timefmt import epoch_seconds
from operators.stats import nearest_rank
from sinks.console import Console
from sinks.sqlite_sink import SqliteEventStore
from streams.config_watch import config_versions
from streams.http_probe import HttpProber
from streams.probe_pool import ProbePool
from streams.probes import TickCounters


def run_monitoring(config: Config, db_path: str, silent: bool = False, metrics_path: str | None = None) -> int:
    # Handlers only queue the signal (SimpleQueue.put is safe in a handler); the main loop
    # acts on it, so a SIGHUP during shutdown cannot reach the watcher once it is disposed.
    signals: queue.SimpleQueue[int] = queue.SimpleQueue()
    # `-m | head`: once the reader of our output has gone, stop as SIGTERM would.
    console = None if silent else Console(on_closed=lambda: signals.put(signal.SIGTERM))
    errors = Console(sys.stderr, colour=False)
    store = SqliteEventStore(db_path, on_error=lambda e: errors.info(f"error: {db_path}: {e}"))
    clock = EventLoopScheduler()
    # A few threads do the probes' CPU work; more are added while probes wait on slow or far sites.
    io = ProbePool(core=4, max_workers=max(64, 4 * len(config.sites)))
    prober = HttpProber(pool_size=len(config.sites))
    past = load_past(db_path, config, epoch_seconds(clock.now))
    monitor = Monitor(config, store, prober.probe, clock, io, console, past)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        signals.put(signum)

    def reject(error: ConfigError) -> None:
        errors.info(f"config rejected: {error}")

    # The watcher reads the file on its own thread; a new version is applied on the clock's.
    watch = EventLoopScheduler()
    pokes: Subject[object] = Subject()
    versions = config_versions(config.source, watch, reject, pokes=pokes, running=config)
    reloads = versions.pipe(ops.observe_on(clock)).subscribe(monitor.reload)
    purger = start_retention(db_path, lambda: monitor.configs.value, watch, on_error=errors.info)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    if console is not None:
        console.info(f"monitoring {len(config.sites)} site(s) from {config.source} into {db_path}; "
                     f"restored {len(past.probes)} probe(s) and {len(past.transitions)} alert state(s); "
                     "Ctrl-C to stop")
    monitor.start()
    while signals.get() == signal.SIGHUP:
        watch.schedule(lambda *_: pokes.on_next(None))

    def drain() -> None:
        io.executor.shutdown(wait=True)  # probes in flight end within their timeout
        wait_on_clock(clock, timeout=5.0)

    reloads.dispose()
    purger.dispose()
    watch.dispose()
    # Stop the site clocks on the clock thread, between two ticks, so no tick hands a probe
    # to the pool after it has been shut down.
    wait_on_clock(clock, timeout=5.0, action=monitor.configs.on_completed)
    monitor.stop(drain)
    clock.dispose()
    prober.close()
    if metrics_path is not None:
        write_metrics(metrics_path, monitor.counters, store)
    if console is not None:
        console.info(f"stopped: {monitor.counters.ticks} checks, {monitor.counters.skipped} skipped ticks")
    return 0


def write_metrics(path: str, counters: TickCounters, store: SqliteEventStore) -> None:
    """The clocks' own figures, for benchmarks: ticks, skips, tick lateness (ms) and rows written."""
    lateness = sorted(counters.lateness)

    def at(fraction: float) -> float | None:
        return round(nearest_rank(lateness, fraction) * 1000, 3) if lateness else None

    figures = {"ticks": counters.ticks, "skipped": counters.skipped, "rows_written": store.rows_written,
               "lateness_ms": {"p50": at(0.5), "p99": at(0.99), "max": at(1.0)}}
    Path(path).write_text(json.dumps(figures, indent=2) + "\n")
