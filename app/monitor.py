"""The monitoring graph: config versions → site clocks and probes → windows, alerts → store and console.

Monitoring mode and test mode build the very same graph; they differ only in the
schedulers (`clock` real or virtual, `io` a thread pool or immediate) and in
what the probe function talks to.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable
from reactivex.observable import ConnectableObservable
from reactivex.subject import BehaviorSubject

from domain.config import AlertPolicy, Config, ReportSpec
from domain.events import AlertTransition, Probe, Report, ReportRequest
from domain.timefmt import epoch_seconds
from operators.alerts import alert_transitions
from operators.reports import window_reports
from sinks.console import Console
from sinks.sqlite_sink import SqliteEventStore
from store.schema import connect
from streams.probes import ConfigChange, ProbeFunction, TickCounters, probe_events
from streams.stored_log import last_transitions, recent_probes
from streams.ticks import fixed_rate_ticks


@dataclass(frozen=True, slots=True)
class StoredPast:
    """What a restart starts from: recent probes and each site's last alert transition."""

    probes: tuple[Probe, ...] = ()
    transitions: dict[str, AlertTransition] = field(default_factory=dict)


def load_past(db_path: str | Path, config: Config, now: float) -> StoredPast:
    """The stored log of the sites in `config` over its longest window before `now`."""
    connection = connect(db_path)
    try:
        hosts = {site.url for site in config.sites}
        probes = recent_probes(connection, now - config.longest_window, hosts)
        transitions = {h: t for h, t in last_transitions(connection).items() if h in hosts}
    except sqlite3.OperationalError:
        return StoredPast()
    finally:
        connection.close()
    return StoredPast(probes, transitions)


def report_requests(config: Config, clock: abc.SchedulerBase) -> Observable[ReportRequest]:
    """One `ReportRequest` for the config's sites per tick of each of its report cadences."""
    hosts = frozenset(site.url for site in config.sites)

    def requests_of(spec: ReportSpec) -> Observable[ReportRequest]:
        def request(now: float) -> ReportRequest:
            return ReportRequest(now, spec.windows, hosts)

        return fixed_rate_ticks(spec.every, clock, first_after=spec.every).pipe(ops.map(request))

    return reactivex.merge(*(requests_of(spec) for spec in config.reports))


def _alert_policy(config: Config) -> AlertPolicy:
    return config.alert


def _reporting(config: Config) -> tuple[tuple[ReportSpec, ...], frozenset[str]]:
    """What report requests depend on: a reload that changes neither keeps the report clocks."""
    return config.reports, frozenset(site.url for site in config.sites)


class Monitor:
    """A running monitoring graph. `start`, then `reload` new configs, then `stop`."""

    def __init__(
        self,
        config: Config,
        store: SqliteEventStore,
        probe: ProbeFunction,
        clock: abc.SchedulerBase,
        io: abc.SchedulerBase,
        console: Console | None = None,
        past: StoredPast | None = None,
        on_transition: Callable[[AlertTransition], None] | None = None,
        on_report: Callable[[Report], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.io = io
        self.console = console
        self.counters = TickCounters()
        self.configs: BehaviorSubject[Config] = BehaviorSubject(config)
        self._on_transition = on_transition
        self._on_report = on_report
        past = past or StoredPast()
        on_change = self._announce_change if console is not None else None

        probes: ConnectableObservable[Probe] = probe_events(
            self.configs, probe, clock, io, self.counters, on_change).pipe(ops.publish())
        self._probes = probes
        policies: Observable[AlertPolicy] = self.configs.pipe(ops.map(_alert_policy))
        self.transitions = probes.pipe(alert_transitions(policies, past.transitions, past.probes))

        def requests_for(latest: Config) -> Observable[ReportRequest]:
            return report_requests(latest, clock)

        reporting: Observable[Config] = self.configs.pipe(ops.distinct_until_changed(_reporting))
        requests: Observable[ReportRequest] = reporting.pipe(ops.map(requests_for), ops.switch_latest())
        self.reports = probes.pipe(window_reports(requests, config.report_windows, past.probes))
        self._subscriptions = CompositeDisposable()

    def start(self) -> None:
        self._subscriptions.add(self._probes.subscribe(self.store.append_probe, self._fail))
        self._subscriptions.add(self.transitions.subscribe(self._transition, self._fail))
        self._subscriptions.add(self.reports.subscribe(self._report, self._fail))
        connection = self._probes.connect()
        if connection is not None:
            self._subscriptions.add(connection)

    def reload(self, config: Config) -> None:
        self.configs.on_next(config)

    def stop(self, drain: Callable[[], None] | None = None) -> None:
        """Stop the clocks, let `drain` wait for probes in flight, then detach and flush the store."""
        self.configs.on_completed()
        if drain is not None:
            drain()
        self._subscriptions.dispose()
        self.store.close()

    def now(self) -> float:
        return epoch_seconds(self.clock.now)

    def _transition(self, transition: AlertTransition) -> None:
        self.store.append_transition(transition)
        if self.console is not None:
            self.console.show_transition(transition)
        if self._on_transition is not None:
            self._on_transition(transition)

    def _report(self, report: Report) -> None:
        if self.console is not None:
            self.console.show_report(report)
        if self._on_report is not None:
            self._on_report(report)

    def _announce_change(self, change: ConfigChange) -> None:
        assert self.console is not None
        self.console.info(f"config reloaded: {change.summary()}")

    def _fail(self, error: Exception) -> None:
        # A bug downstream; say so loudly rather than monitor silently with a dead graph.
        if self.console is not None:
            self.console.info(f"internal error: {error!r}")
        raise error


def wait_on_clock(clock: abc.SchedulerBase, timeout: float, action: Callable[[], None] | None = None) -> bool:
    """Block until everything already queued on `clock` has run (a real, threaded clock), then `action` on it."""
    done = threading.Event()

    def signal_done(_: abc.SchedulerBase, __: object = None) -> None:
        if action is not None:
            action()
        done.set()

    clock.schedule(signal_done)
    return done.wait(timeout)
