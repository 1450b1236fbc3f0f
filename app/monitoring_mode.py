"""`-m`: monitor the config's sites in real time until SIGINT or SIGTERM."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

from reactivex.scheduler import EventLoopScheduler, ThreadPoolScheduler

from app.monitor import Monitor, load_past, wait_on_clock
from domain.config import Config
from domain.timefmt import epoch_seconds
from sinks.console import Console
from sinks.sqlite_sink import SqliteEventStore
from streams.http_probe import HttpProber


def run_monitoring(config: Config, db_path: str, silent: bool = False) -> int:
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    console = None if silent else Console()
    errors = Console(sys.stderr, colour=False)
    store = SqliteEventStore(db_path, on_error=lambda e: errors.info(f"error: {db_path}: {e}"))
    clock = EventLoopScheduler()
    # Threads are made only as probes overlap; the bound just keeps a site from waiting for a worker.
    io = ThreadPoolScheduler(max_workers=max(64, 4 * len(config.sites)))
    prober = HttpProber(pool_size=len(config.sites))
    past = load_past(db_path, config, epoch_seconds(clock.now))
    monitor = Monitor(config, store, prober.probe, clock, io, console, past)

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    if console is not None:
        console.info(f"monitoring {len(config.sites)} site(s) from {config.source} into {db_path}; "
                     f"restored {len(past.probes)} probe(s) and {len(past.transitions)} alert state(s); "
                     "Ctrl-C to stop")
    monitor.start()
    while not stop.wait(0.5):
        pass

    def drain() -> None:
        io.executor.shutdown(wait=True)  # probes in flight end within their timeout
        wait_on_clock(clock, timeout=5.0)

    monitor.stop(drain)
    clock.dispose()
    prober.close()
    if console is not None:
        console.info(f"stopped: {monitor.counters.ticks} checks, {monitor.counters.skipped} skipped ticks")
    return 0
