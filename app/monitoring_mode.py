"""`-m`: monitor the config's sites in real time until SIGINT or SIGTERM."""

from __future__ import annotations

import gc
import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable, Disposable
from reactivex.subject import Subject

from monitoringapp.app.config_warnings import read_config_and_warn, warning_lines
from monitoringapp.app.lifecycle import (
    Hup,
    Lifecycle,
    Stopper,
    dispose_after_its_tick,
    run_until_stopped,
    wait_until_idle,
)
from monitoringapp.app.options import MonitorOptions
from monitoringapp.app.paths import check_file_to_write
from monitoringapp.domain.config import Config
from monitoringapp.domain.events import AlertTransition, PastChunk
from monitoringapp.domain.sites import shown_servers
from monitoringapp.domain.timefmt import epoch_seconds, format_duration
from monitoringapp.graph.monitor import MonitorGraph, StoredPast, load_past
from monitoringapp.operators.stats import nearest_rank
from monitoringapp.operators.typed import keep
from monitoringapp.sinks.console import Console, ReportContext, stall_line
from monitoringapp.sinks.progress import ProgressBar
from monitoringapp.store import open_event_log
from monitoringapp.store.log import LogLost, LogWriter, PastReader
from monitoringapp.store.sqlite.writer import SqliteEventLog
from monitoringapp.streams.config_state import ConfigBack, ConfigRejected
from monitoringapp.streams.config_watch import config_updates, is_back, is_rejection, is_version
from monitoringapp.streams.http_probe import HttpProber
from monitoringapp.streams.past import LoggedPast
from monitoringapp.streams.probe_pool import ProbePool
from monitoringapp.streams.probes import GATHER, ConfigChange, TickCounters
from monitoringapp.streams.wall_clock import WallClockScheduler
from monitoringapp.transport.proxies import Proxies

if TYPE_CHECKING:  # nats-py is imported only with --nats
    from monitoringapp.store.jetstream.writer import JetStreamLogWriter


class MonitorLog(LogWriter, Protocol):
    """What `-m` sees of the log it writes (SQLite, or JetStream for a prober): appends, its failures as lines,
    the log lost under it, its own retention work, and how many events it has written (for `--metrics`)."""

    @property
    def errors(self) -> Observable[str]:
        ...

    @property
    def lost(self) -> Observable[LogLost]:
        ...

    def start_retention(self, scheduler: abc.SchedulerBase) -> abc.DisposableBase:
        ...

    @property
    def rows_written(self) -> int:
        ...


def run_monitoring(options: MonitorOptions) -> int:
    began = time.monotonic()
    config = read_config_and_warn(options.config, probing=True)
    proxies = Proxies.from_environment()  # a proxy no probe can go through is refused before anything is opened
    if options.metrics is not None:
        check_file_to_write("--metrics", options.metrics)
    judges = not options.nats  # a prober publishes its probes; evaluators judge them
    if not judges:
        check_file_to_write("--spool", _spool_path(options))
    log: MonitorLog
    event_log: SqliteEventLog | None = None  # where a monitor that judges reads its past
    prober_log: JetStreamLogWriter | None = None  # ... and a prober its own
    if judges:
        log = event_log = _open_event_log(options.database)
    else:
        log = prober_log = _open_prober_log(options, config)
    console = None if options.silent else Console()
    errors = Console(sys.stderr, colour=False)
    clock = WallClockScheduler()
    # Reads the config file, runs retention and reads the past, off the clock's thread.
    background: list[threading.Thread] = []
    watch = WallClockScheduler(thread_factory=lambda target: _remembered(background, target, "background"))
    # The pool's one core thread does the probes' CPU work; while probes wait, up to 4 threads a site (64 at least).
    # The background's CPU (a restart's fill) does not stop it adding threads for far sites.
    io = ProbePool(max_workers=_probe_threads(config), uncounted=lambda: background)
    prober = HttpProber(pool_size=len(config.sites), proxies=proxies, location=options.location)
    fill = PastFill(began)

    def start(lifecycle: Lifecycle) -> Stopper:
        # Local to `start`: once the graph has taken them, the probes read back are dropped.
        # A prober judges nothing, but its reports count its own past in the stream, as a monitor's count its own.
        past_log = event_log if event_log is not None else _prober_past(prober_log, options)
        past = StoredPast() if past_log is None else load_past(past_log, config, epoch_seconds(clock.now),
                                                               judges=judges)
        stopping: Subject[None] = Subject()
        updates = config_updates(options.config, watch, pokes=lifecycle.hups.pipe(ops.observe_on(watch)),
                                 running=config, probing=True).pipe(ops.share())
        # A new version is applied on the clock's thread, between two ticks.
        versions: Observable[Config] = updates.pipe(keep(is_version), ops.observe_on(clock), ops.take_until(stopping))
        # A site a reload adds gets its past from the same log (its earlier probes, or another location's).
        graph = MonitorGraph(config, versions, prober.check, clock, io, past, options.location, background=watch,
                             log=past_log, tick_lateness=options.metrics is not None, gather=GATHER)
        landed = threading.Event()  # the probe stream has completed: every probe in flight is in
        retentions: Observable[float | None] = graph.configs.pipe(ops.map(_retention), ops.distinct_until_changed())
        rollup_retentions: Observable[float] = graph.configs.pipe(ops.map(_rollup_retention),
                                                                  ops.distinct_until_changed())

        def show_rejection(rejected: ConfigRejected) -> None:
            errors.info(f"config rejected: {rejected.error}")

        def show_back(back: ConfigBack) -> None:
            errors.info(back.message())

        def show_warnings(version: Config) -> None:
            lines = warning_lines(version)  # every version's, as at start
            if lines:
                errors.write(lines)

        # Heard until the log has closed: its last batch may fail too (the database held by another process, the
        # disk full), and what it could not store is said.
        log_errors = log.errors.subscribe(errors.info)
        running = CompositeDisposable(
            graph.probes.subscribe(log.append_probe, lifecycle.fail, landed.set),
            updates.pipe(keep(is_rejection)).subscribe(show_rejection, lifecycle.fail),
            updates.pipe(keep(is_back)).subscribe(show_back, lifecycle.fail),
            updates.pipe(keep(is_version)).subscribe(show_warnings, lifecycle.fail),
            retentions.subscribe(log.set_retention),
            # A reload that adds sites gives the pool threads, and the HTTP pools keep-alive room, for them too.
            graph.configs.subscribe(lambda version: io.executor.allow_at_least(_probe_threads(version))),
            graph.configs.subscribe(lambda version: prober.make_room_for(len(version.sites))),
            rollup_retentions.subscribe(log.set_rollup_retention),
            log.lost.subscribe(lifecycle.fail),  # the database deleted under us: stop, exit 1
            log.start_retention(watch),
        )
        if judges:
            running.add(graph.transitions.subscribe(log.append_transition, lifecycle.fail))
        if console is None:  # a stall is a gap in the stored data: said where a service's errors go
            running.add(graph.stalls.subscribe(lambda stall: errors.info(stall_line(stall)), lifecycle.fail))
        else:
            console.on_closed = lifecycle.stop  # `-m | head`: the reader has gone, stop as SIGTERM would
            lifecycle.stop_when(console.reader_gone)  # ... even while nothing is being written
            shown = console

            def show_transition(transition: AlertTransition) -> None:
                # On the clock's thread as the probe lands: its time is when the alert was seen.
                shown.show_transition(transition, seen=epoch_seconds(clock.now))

            # A window reaching back before the first probe this monitor knows is only partly covered.
            console.report_context.data_since = past.probes[0].timestamp if past.probes else epoch_seconds(clock.now)
            if judges:
                running.add(graph.transitions.subscribe(show_transition, lifecycle.fail))
            # The reports' coverage leaves a stall out once it is told: a report due in the same second as the clocks
            # run again may come before it (their timers are apart), and count it as covered.
            running.add(graph.stalls.subscribe(console.show_stall, lifecycle.fail))
            running.add(graph.reports.subscribe(console.show_report, lifecycle.fail))
            running.add(graph.changes.subscribe(_announce(console), lifecycle.fail))
            if judges:
                console.info(f"monitoring {len(config.sites)} site(s) from {config.source} into {options.database}; "
                             f"restored {len(past.probes)} probe(s) of the past "
                             f"{format_duration(config.policies.longest_window)} and {len(past.transitions)} alert "
                             f"state(s){'' if past.earlier is None else '; the rest of the past loads meanwhile'}; "
                             "Ctrl-C to stop")
            else:
                console.info(_prober_banner(options, config, past))
            if past.earlier is not None:
                running.add(_show_progress(graph.past_loaded, past.earlier, console))
                running.add(graph.past_loaded.subscribe(_widen_coverage(console.report_context)))
        if options.metrics is not None:
            running.add(graph.past_loaded.subscribe(fill.took, on_completed=fill.done))
        if past.earlier is not None:
            running.add(graph.past_loaded.subscribe(on_completed=_give_back_freed_memory))
        running.add(graph.connect())

        def stop() -> None:
            # The clocks stop on the clock's thread, between two ticks, so no tick hands a probe to the
            # pool after it has been shut down. The probes in flight get the grace to land (a second
            # signal cuts it short); those still out then are abandoned, and everything landed is stored.
            wait_until_idle(clock, timeout=5.0, action=lambda: stopping.on_next(None))
            in_flight = graph.counters.in_flight
            if in_flight and console is not None:
                again = " (Ctrl-C again to stop now)" if console.stream.isatty() else ""
                console.info(f"stopping: {_probes(in_flight)} in flight, waiting up to {options.stop_grace:g}s{again}")
            lifecycle.wait_for(landed.is_set, options.stop_grace)
            abandoned = graph.counters.in_flight
            running.dispose()
            io.executor.shutdown(wait=False)  # its threads are daemons: an abandoned probe holds up no exit
            log.close()
            log_errors.dispose()
            dispose_after_its_tick(clock)
            dispose_after_its_tick(watch)  # a poll of the config may be under way
            prober.close()
            if options.metrics is not None:
                try:
                    write_metrics(options.metrics, graph.counters, log.rows_written, fill,
                                  first_ticks=len(config.sites))
                except OSError as error:
                    errors.info(f"monitoringApp: error: --metrics: {options.metrics}: {error.strerror}")
            if console is not None:
                left = f", {_probes(abandoned)} in flight abandoned" if abandoned else ""
                console.info(f"stopped: {graph.counters.ticks} checks, {graph.counters.skipped} skipped ticks{left}")

        return stop

    return run_until_stopped(start, hup=Hup.RELOAD)


def _remembered(threads: list[threading.Thread], target: Callable[..., None], name: str) -> threading.Thread:
    """A daemon thread for `target`, kept in `threads`: a scheduler's thread factory whose threads are known."""
    thread = threading.Thread(target=target, name=name, daemon=True)
    threads.append(thread)
    return thread


def _probes(count: int) -> str:
    return f"{count} probe{'' if count == 1 else 's'}"


def _open_event_log(path: str) -> SqliteEventLog:
    """The monitor's log; a file from before rollups has them rebuilt first (3.6 M probes: 99 s), before the first
    probe: shown as a bar on a terminal, said in a line as it begins elsewhere (a log, a service's journal, which
    would otherwise see nothing for minutes), and in a line when done either way."""
    bar = ProgressBar(f"rebuilding the rollups of {path}", "rows")
    began = time.monotonic()

    def progress(done: int, total: int) -> None:
        if done == 0 and not bar.enabled:
            print(f"rebuilding the rollups of {path} from its {total:,} stored probe rows, once, before monitoring "
                  "starts", file=sys.stderr, flush=True)
        bar.update(done, total)

    try:
        log = open_event_log(path, rebuild_progress=progress)
    finally:
        bar.close()
    if log.rebuilt_probes:
        print(f"rebuilt the rollups of {path} from {log.rebuilt_probes:,} stored probes in "
              f"{time.monotonic() - began:.1f}s", file=sys.stderr, flush=True)
    return log


def _give_back_freed_memory() -> None:
    """Once the restart's past is in the windows: the memory its chunks were read into is free, but the C
    allocator keeps it for the process; glibc's `malloc_trim` hands it back to the system (at 200 sites on an
    hour of probes, RSS 57.5 instead of 62.1 MB). Elsewhere, nothing."""
    import ctypes

    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # the C library this interpreter runs on
    if trim is not None:
        gc.collect()
        trim(0)


def _spool_path(options: MonitorOptions) -> str:
    return options.spool or f"spool-{options.location}.db"


def _open_prober_log(options: MonitorOptions, config: Config) -> JetStreamLogWriter:
    from monitoringapp.store.jetstream import open_prober_log

    return open_prober_log(options.nats, options.location, _spool_path(options), replicas=options.replicas,
                           retention=config.retention)


def _prober_past(writer: JetStreamLogWriter | None, options: MonitorOptions) -> PastReader | None:
    """The prober's own location's past in the stream, through its writer's connection."""
    if writer is None:
        return None
    from monitoringapp.store.jetstream import open_prober_past

    return open_prober_past(writer, options.location)


def _prober_banner(options: MonitorOptions, config: Config, past: StoredPast) -> str:
    from monitoringapp.store.jetstream import SPOOL_CAPACITY

    rate = sum(1 / site.check_interval for site in config.sites)
    # It judges nothing: none of its past is read before its clocks start, all of it while they tick.
    loading = (f"; its past {format_duration(config.longest_window)} from this location loads into its reports "
               "meanwhile" if past.earlier is not None else "")
    return (f"probing {len(config.sites)} site(s) from {config.source} as location {options.location}, publishing "
            f"to {shown_servers(options.nats)} (stream MONITOR); while NATS is unreachable up to {SPOOL_CAPACITY:,} "
            f"probes wait in {_spool_path(options)} ({SPOOL_CAPACITY / rate / 60:,.0f} minutes of this config, "
            f"about {SPOOL_CAPACITY * 200 / 1e6:.0f} MB){loading}; Ctrl-C to stop")


def _show_progress(loaded: Observable[PastChunk], past: LoggedPast, console: Console) -> abc.DisposableBase:
    """The past's loading as a bar on stderr when it is a terminal (in minutes of the past read, newest first),
    then one line on the console when it is all in the report windows."""
    span = past.before - past.since  # a prober's ends 1 ms before its start: said in whole seconds
    minutes = span / 60
    bar = ProgressBar(f"loading the past {format_duration(round(span))} into the reports", "min")
    began = time.monotonic()
    count = [0]

    def show(chunk: PastChunk) -> None:
        count[0] = chunk.probes
        bar.update(round(chunk.done * minutes), round(minutes))

    def done() -> None:
        bar.close()
        if count[0]:  # a new database has no past to speak of
            console.info(f"the past {format_duration(round(span))} is in the reports: {count[0]:,} stored probe(s) in "
                         f"{time.monotonic() - began:.1f}s")

    return CompositeDisposable(loaded.subscribe(show, on_completed=done), Disposable(bar.close))


def _widen_coverage(context: ReportContext) -> Callable[[PastChunk], None]:
    """The reports' data reaches back to the oldest probe the windows hold: each chunk of the restart's past,
    taken on the clock's thread as the windows take it, may reach further back than the alert window did."""

    def take(chunk: PastChunk) -> None:
        oldest = min((site.timestamps[0] for site in chunk.sites if len(site)), default=None)
        if oldest is not None and (context.data_since is None or oldest < context.data_since):
            context.data_since = oldest

    return take


def _probe_threads(config: Config) -> int:
    """The probe pool's most threads for `config`: up to 4 a site while their probes wait (64 at least)."""
    return max(64, 4 * len(config.sites))


def _retention(config: Config) -> float | None:
    return config.retention


def _rollup_retention(config: Config) -> float:
    return config.rollup_retention


def _announce(console: Console) -> Callable[[ConfigChange], None]:
    def announce(change: ConfigChange) -> None:
        console.info(f"config reloaded: {change.summary()}")

    return announce


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

    lateness = list(counters.lateness or ())
    figures = {"ticks": counters.ticks, "skipped": counters.skipped, "rows_written": rows_written,
               "lateness_ms": percentiles(lateness),
               "lateness_after_first_ticks_ms": percentiles(lateness[first_ticks:]),
               "past": {"probes": fill.probes if fill else 0,
                        "loaded_s": round(fill.seconds, 3) if fill and fill.seconds is not None else None}}
    Path(path).write_text(json.dumps(figures, indent=2) + "\n")
