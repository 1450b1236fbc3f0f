"""`-m`: monitor the config's sites in real time until SIGINT or SIGTERM."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable
from reactivex.scheduler import EventLoopScheduler
from reactivex.subject import Subject

from monitoringapp.app.config_warnings import read_config_and_warn
from monitoringapp.app.lifecycle import Lifecycle, Stopper, run_until_stopped, wait_until_idle
from monitoringapp.app.options import MonitorOptions
from monitoringapp.domain.config import Config
from monitoringapp.graph.monitor import MonitorGraph, StoredPast, load_past
from monitoringapp.operators.stats import nearest_rank
from monitoringapp.operators.typed import keep
from monitoringapp.sinks.console import Console
from monitoringapp.store import open_event_log
from monitoringapp.store.log import LogWriter
from monitoringapp.streams.config_state import ConfigRejected
from monitoringapp.streams.config_watch import config_updates, is_rejection, is_version
from monitoringapp.streams.http_probe import HttpProber
from monitoringapp.streams.probe_pool import ProbePool
from monitoringapp.streams.probes import ConfigChange, TickCounters


class MonitorLog(LogWriter, Protocol):
    """What `-m` sees of the log it writes (SQLite, or JetStream for a prober): appends, its failures as lines,
    its own retention work, and how many events it has written (for `--metrics`)."""

    @property
    def errors(self) -> Observable[str]:
        ...

    def start_retention(self, scheduler: abc.SchedulerBase) -> abc.DisposableBase:
        ...

    @property
    def rows_written(self) -> int:
        ...


# After the clocks stop, how long the probes in flight may take beyond the longest timeout to land.
_DRAIN_SLACK = 5.0


def run_monitoring(options: MonitorOptions) -> int:
    config = read_config_and_warn(options.config)
    judges = not options.nats  # a prober publishes its probes; evaluators judge them
    log: MonitorLog
    if judges:
        event_log = open_event_log(options.database)
        log, past = event_log, load_past(event_log, config, time.time())
    else:
        log, past = _open_prober_log(options, config), StoredPast()
    console = None if options.silent else Console()
    errors = Console(sys.stderr, colour=False)
    clock = EventLoopScheduler()
    watch = EventLoopScheduler()  # reads the config file and runs retention, off the clock's thread
    # A few threads do the probes' CPU work; more are added while probes wait on slow or far sites.
    io = ProbePool(core=4, max_workers=max(64, 4 * len(config.sites)))
    prober = HttpProber(pool_size=len(config.sites), location=options.location)

    def start(lifecycle: Lifecycle) -> Stopper:
        stopping: Subject[None] = Subject()
        updates = config_updates(options.config, watch, pokes=lifecycle.hups.pipe(ops.observe_on(watch)),
                                 running=config).pipe(ops.share())
        # A new version is applied on the clock's thread, between two ticks.
        versions: Observable[Config] = updates.pipe(keep(is_version), ops.observe_on(clock), ops.take_until(stopping))
        graph = MonitorGraph(config, versions, prober.probe, clock, io, past, options.location)
        landed = threading.Event()  # the probe stream has completed: every probe in flight is in
        retentions: Observable[float | None] = graph.configs.pipe(ops.map(_retention), ops.distinct_until_changed())
        rollup_retentions: Observable[float] = graph.configs.pipe(ops.map(_rollup_retention),
                                                                  ops.distinct_until_changed())

        def show_rejection(rejected: ConfigRejected) -> None:
            errors.info(f"config rejected: {rejected.error}")

        running = CompositeDisposable(
            graph.probes.subscribe(log.append_probe, lifecycle.fail, landed.set),
            updates.pipe(keep(is_rejection)).subscribe(show_rejection, lifecycle.fail),
            retentions.subscribe(log.set_retention),
            rollup_retentions.subscribe(log.set_rollup_retention),
            log.errors.subscribe(errors.info),
            log.start_retention(watch),
        )
        if judges:
            running.add(graph.transitions.subscribe(log.append_transition, lifecycle.fail))
        if console is not None:
            console.on_closed = lifecycle.stop  # `-m | head`: the reader has gone, stop as SIGTERM would
            if judges:
                running.add(graph.transitions.subscribe(console.show_transition, lifecycle.fail))
            running.add(graph.reports.subscribe(console.show_report, lifecycle.fail))
            running.add(graph.changes.subscribe(_announce(console), lifecycle.fail))
            if judges:
                console.info(f"monitoring {len(config.sites)} site(s) from {config.source} into {options.database}; "
                             f"restored {len(past.probes)} probe(s) and {len(past.transitions)} alert state(s); "
                             "Ctrl-C to stop")
            else:
                console.info(_prober_banner(options, config))
        running.add(graph.connect())

        def stop() -> None:
            # The clocks stop on the clock's thread, between two ticks, so no tick hands a probe to the
            # pool after it has been shut down; the probes in flight then land within their timeout.
            wait_until_idle(clock, timeout=5.0, action=lambda: stopping.on_next(None))
            landed.wait(max(site.timeout for site in config.sites) + _DRAIN_SLACK)
            running.dispose()
            io.executor.shutdown(wait=False)
            log.close()
            clock.dispose()
            watch.dispose()
            prober.close()
            if options.metrics is not None:
                write_metrics(options.metrics, graph.counters, log.rows_written)
            if console is not None:
                console.info(f"stopped: {graph.counters.ticks} checks, {graph.counters.skipped} skipped ticks")

        return stop

    return run_until_stopped(start, reload_on_hup=True)


def _spool_path(options: MonitorOptions) -> str:
    return options.spool or f"spool-{options.location}.db"


def _open_prober_log(options: MonitorOptions, config: Config) -> MonitorLog:
    from monitoringapp.store.jetstream import open_prober_log

    return open_prober_log(options.nats, options.location, _spool_path(options), replicas=options.replicas,
                           retention=config.retention)


def _prober_banner(options: MonitorOptions, config: Config) -> str:
    from monitoringapp.store.jetstream import SPOOL_CAPACITY

    rate = sum(1 / site.check_interval for site in config.sites)
    return (f"probing {len(config.sites)} site(s) from {config.source} as location {options.location}, publishing "
            f"to {', '.join(options.nats)} (stream MONITOR); while NATS is unreachable up to {SPOOL_CAPACITY:,} "
            f"probes wait in {_spool_path(options)} ({SPOOL_CAPACITY / rate / 60:,.0f} minutes of this config, "
            f"about {SPOOL_CAPACITY * 200 / 1e6:.0f} MB); Ctrl-C to stop")


def _retention(config: Config) -> float | None:
    return config.retention


def _rollup_retention(config: Config) -> float:
    return config.rollup_retention


def _announce(console: Console) -> Callable[[ConfigChange], None]:
    def announce(change: ConfigChange) -> None:
        console.info(f"config reloaded: {change.summary()}")

    return announce


def write_metrics(path: str, counters: TickCounters, rows_written: int) -> None:
    """The clocks' own figures, for benchmarks: ticks, skips, tick lateness (ms) and rows written."""
    lateness = sorted(counters.lateness)

    def at(fraction: float) -> float | None:
        return round(nearest_rank(lateness, fraction) * 1000, 3) if lateness else None

    figures = {"ticks": counters.ticks, "skipped": counters.skipped, "rows_written": rows_written,
               "lateness_ms": {"p50": at(0.5), "p99": at(0.99), "max": at(1.0)}}
    Path(path).write_text(json.dumps(figures, indent=2) + "\n")
