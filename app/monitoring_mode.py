"""`-m`: monitor the config's sites in real time until SIGINT or SIGTERM."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable, Disposable
from reactivex.scheduler import EventLoopScheduler
from reactivex.subject import Subject

from monitoringapp.app.config_warnings import read_config_and_warn
from monitoringapp.app.lifecycle import Lifecycle, Stopper, run_until_stopped
from monitoringapp.app.options import MonitorOptions
from monitoringapp.domain.config import Config
from monitoringapp.domain.events import PastChunk
from monitoringapp.domain.timefmt import epoch_seconds, format_duration
from monitoringapp.graph.monitor import MonitorGraph, load_past
from monitoringapp.operators.stats import nearest_rank
from monitoringapp.operators.typed import keep
from monitoringapp.sinks.console import Console
from monitoringapp.sinks.progress import ProgressLine
from monitoringapp.store import open_event_log
from monitoringapp.streams.config_state import ConfigRejected
from monitoringapp.streams.config_watch import config_updates, is_rejection, is_version
from monitoringapp.streams.http_probe import HttpProber
from monitoringapp.streams.probe_pool import ProbePool
from monitoringapp.streams.probes import ConfigChange, TickCounters

# After the clocks stop, how long the probes in flight may take beyond the longest timeout to land.
_DRAIN_SLACK = 5.0


def run_monitoring(options: MonitorOptions) -> int:
    began = time.monotonic()
    config = read_config_and_warn(options.config)
    log = open_event_log(options.database)
    console = None if options.silent else Console()
    errors = Console(sys.stderr, colour=False)
    clock = EventLoopScheduler()
    watch = EventLoopScheduler()  # reads the config file, runs retention and reads the past, off the clock's thread
    # A few threads do the probes' CPU work; more are added while probes wait on slow or far sites.
    io = ProbePool(core=4, max_workers=max(64, 4 * len(config.sites)))
    prober = HttpProber(pool_size=len(config.sites))
    fill = PastFill(began)

    def start(lifecycle: Lifecycle) -> Stopper:
        # Local to `start`: once the graph has taken them, the probes read back are dropped.
        past = load_past(log, config, epoch_seconds(clock.now))
        stopping: Subject[None] = Subject()
        updates = config_updates(options.config, watch, pokes=lifecycle.hups.pipe(ops.observe_on(watch)),
                                 running=config).pipe(ops.share())
        # A new version is applied on the clock's thread, between two ticks.
        versions: Observable[Config] = updates.pipe(keep(is_version), ops.observe_on(clock), ops.take_until(stopping))
        graph = MonitorGraph(config, versions, prober.probe, clock, io, past, background=watch)
        landed = threading.Event()  # the probe stream has completed: every probe in flight is in
        retentions: Observable[float | None] = graph.configs.pipe(ops.map(_retention), ops.distinct_until_changed())

        def show_rejection(rejected: ConfigRejected) -> None:
            errors.info(f"config rejected: {rejected.error}")

        running = CompositeDisposable(
            graph.probes.subscribe(log.append_probe, lifecycle.fail, landed.set),
            graph.transitions.subscribe(log.append_transition, lifecycle.fail),
            updates.pipe(keep(is_rejection)).subscribe(show_rejection, lifecycle.fail),
            retentions.subscribe(log.set_retention),
            log.errors.subscribe(errors.info),
            log.start_retention(watch),
        )
        if console is not None:
            console.on_closed = lifecycle.stop  # `-m | head`: the reader has gone, stop as SIGTERM would
            running.add(graph.transitions.subscribe(console.show_transition, lifecycle.fail))
            running.add(graph.reports.subscribe(console.show_report, lifecycle.fail))
            running.add(graph.changes.subscribe(_announce(console), lifecycle.fail))
            console.info(f"monitoring {len(config.sites)} site(s) from {config.source} into {options.database}; "
                         f"restored {len(past.probes)} probe(s) of the past {format_duration(config.alert.window)} "
                         f"and {len(past.transitions)} alert state(s)"
                         f"{'' if past.earlier is None else '; the rest of the past loads in the background'}; "
                         "Ctrl-C to stop")
        if past.earlier is not None:
            running.add(_show_progress(graph.past_loaded, format_duration(config.longest_window)))
        if options.metrics is not None:
            running.add(graph.past_loaded.subscribe(fill.took, on_completed=fill.done))
        running.add(graph.connect())

        def stop() -> None:
            # The clocks stop on the clock's thread, between two ticks, so no tick hands a probe to the
            # pool after it has been shut down; the probes in flight then land within their timeout.
            wait_on_clock(clock, timeout=5.0, action=lambda: stopping.on_next(None))
            landed.wait(max(site.timeout for site in config.sites) + _DRAIN_SLACK)
            running.dispose()
            io.executor.shutdown(wait=False)
            log.close()
            clock.dispose()
            watch.dispose()
            prober.close()
            if options.metrics is not None:
                write_metrics(options.metrics, graph.counters, log.rows_written, fill, first_ticks=len(config.sites))
            if console is not None:
                console.info(f"stopped: {graph.counters.ticks} checks, {graph.counters.skipped} skipped ticks")

        return stop

    return run_until_stopped(start, reload_on_hup=True)


def _show_progress(loaded: Observable[PastChunk], longest: str) -> abc.DisposableBase:
    """The past's loading on stderr, when it is a terminal (nothing otherwise)."""
    line = ProgressLine(f"loading the past {longest} into the reports", "stored probes")
    if not line.shown:
        return Disposable()

    def show(chunk: PastChunk) -> None:
        line.show(chunk.done, chunk.probes)

    return loaded.subscribe(show, on_completed=line.finish)


def _retention(config: Config) -> float | None:
    return config.retention


def _announce(console: Console) -> Callable[[ConfigChange], None]:
    def announce(change: ConfigChange) -> None:
        console.info(f"config reloaded: {change.summary()}")

    return announce


def wait_on_clock(clock: abc.SchedulerBase, timeout: float, action: Callable[[], None] | None = None) -> bool:
    """Block until everything already queued on `clock` has run (a real, threaded clock), then `action` on it."""
    done = threading.Event()

    def signal_done(_: abc.SchedulerBase, __: object = None) -> None:
        if action is not None:
            action()
        done.set()

    clock.schedule(signal_done)
    return done.wait(timeout)


class PastFill:
    """How a restart's past went into the report windows: stored probes, and seconds from `began` to the end."""

    def __init__(self, began: float) -> None:
        self.began = began
        self.probes = 0
        self.seconds: float | None = None

    def took(self, chunk: PastChunk) -> None:
        self.probes = chunk.probes

    def done(self) -> None:
        self.seconds = time.monotonic() - self.began


def write_metrics(path: str, counters: TickCounters, rows_written: int, fill: PastFill | None = None,
                  first_ticks: int = 0) -> None:
    """The clocks' own figures, for benchmarks: ticks, skips, tick lateness (ms) over the whole run and after
    the `first_ticks` (each site's first: a slow start shows in one and not the other), rows written, and how
    the past was loaded on a restart (stored probes, seconds from start to all loaded)."""

    def percentiles(late: list[float]) -> dict[str, float | None]:
        ordered = sorted(late)

        def at(fraction: float) -> float | None:
            return round(nearest_rank(ordered, fraction) * 1000, 3) if ordered else None

        return {"p50": at(0.5), "p99": at(0.99), "max": at(1.0)}

    figures = {"ticks": counters.ticks, "skipped": counters.skipped, "rows_written": rows_written,
               "lateness_ms": percentiles(counters.lateness),
               "lateness_after_first_ticks_ms": percentiles(counters.lateness[first_ticks:]),
               "past": {"probes": fill.probes if fill else 0,
                        "loaded_s": round(fill.seconds, 3) if fill and fill.seconds is not None else None}}
    Path(path).write_text(json.dumps(figures, indent=2) + "\n")
