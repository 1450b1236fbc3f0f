"""The monitoring graph: config versions → site clocks and probes → windows and alerts → probes,
transitions, reports and config changes out; on a restart, the stored past in.

Monitoring mode and test mode build the very same graph; they differ only in the schedulers (`clock`
real or virtual, `io` a thread pool or immediate), in what the probe function talks to, and in the
sinks they subscribe. The graph takes no console and no callbacks.

    config, updates ─▶ configs ─┬─▶ probe_events ─▶ probes ─┬──────────────────────────▶ probes
                                ├─▶ policies ───────────────┼─▶ alert_transitions ─────▶ transitions
                                ├─▶ report_requests ─┐      └─┐
                                │                    └─ merge ┴─▶ window_reports ──────▶ reports
                                └─▶ pairwise diff ────────────────────────────────────▶ changes
    past.earlier (read in the background, newest first) ──────────▶ report windows, and ▶ past_loaded

A restart is blind only while the last alert window is read (`load_past`): the alert machines need no more,
and the clocks start right after. The rest of the longest window reaches the report windows while the clocks
already tick, a chunk at a time (see `streams.past`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable
from reactivex.observable import ConnectableObservable
from reactivex.scheduler import ImmediateScheduler

from monitoringapp.domain.config import AlertPolicy, Config, ReportSpec
from monitoringapp.domain.events import AlertTransition, PastChunk, Probe, Report, ReportRequest
from monitoringapp.operators.alerts import alert_transitions
from monitoringapp.operators.reports import ReportEvent, window_reports
from monitoringapp.operators.typed import on_completion
from monitoringapp.store.log import LogReader, LogUnavailable
from monitoringapp.streams.past import LoggedPast
from monitoringapp.streams.probes import ConfigChange, ProbeFunction, TickCounters, diff_sites, probe_events
from monitoringapp.streams.ticks import Tick, fixed_rate_ticks


@dataclass(frozen=True, slots=True)
class StoredPast:
    """What a restart starts from: each site's last alert transition, the probes of the last alert window
    (read before the clocks start), and where the rest of the longest window's probes are (`earlier`, read
    while the clocks tick)."""

    probes: tuple[Probe, ...] = ()
    transitions: Mapping[str, AlertTransition] = field(default_factory=dict)
    earlier: LoggedPast | None = None


def load_past(log: LogReader, config: Config, now: float) -> StoredPast:
    """The logged past of the sites in `config` before `now` (none if the log cannot be read yet): their last
    alert transitions and the probes of the alert window, read now; the rest of the longest window, to read
    later."""
    hosts = frozenset(site.url for site in config.sites)
    recent = now - config.alert.window
    try:
        probes = log.probes_since(recent, hosts).events
        transitions = log.last_transitions(hosts)
    except LogUnavailable:
        return StoredPast()
    since = now - config.longest_window
    return StoredPast(tuple(probes), transitions, LoggedPast(log, hosts, since, recent) if since < recent else None)


def report_requests(config: Config, clock: abc.SchedulerBase) -> Observable[ReportRequest]:
    """One `ReportRequest` for the config's sites per tick of each of its report cadences."""
    hosts = frozenset(site.url for site in config.sites)

    def requests_of(spec: ReportSpec) -> Observable[ReportRequest]:
        def request(tick: Tick) -> ReportRequest:
            return ReportRequest(tick.due, spec.windows, hosts)

        return fixed_rate_ticks(spec.every, clock, first_after=spec.every).pipe(ops.map(request))

    return reactivex.merge(*(requests_of(spec) for spec in config.reports))


def _alert_policy(config: Config) -> AlertPolicy:
    return config.alert


def _reporting(config: Config) -> tuple[tuple[ReportSpec, ...], frozenset[str]]:
    """What report requests depend on: a reload that changes neither keeps the report clocks."""
    return config.reports, frozenset(site.url for site in config.sites)


def _change(versions: tuple[Config, Config]) -> ConfigChange:
    old, new = versions
    return diff_sites(old.sites, new.sites)


class MonitorGraph:
    """The monitoring graph of `config` and its later versions `updates`, which completes to stop.

    Subscribe the sinks to its streams, then `connect`. Every stream runs on `clock`'s thread. When
    `updates` completes, the clocks stop and the streams complete once the probes in flight have landed.
    `past.earlier` is read on `background` (default: at once, on the thread that delivers it to the clock).
    """

    def __init__(
        self,
        config: Config,
        updates: Observable[Config],
        probe: ProbeFunction,
        clock: abc.SchedulerBase,
        io: abc.SchedulerBase,
        past: StoredPast | None = None,
        background: abc.SchedulerBase | None = None,
    ) -> None:
        past = past or StoredPast()
        self.counters = TickCounters()
        configs: ConnectableObservable[Config] = updates.pipe(ops.start_with(config), ops.replay(buffer_size=1))
        stopped = configs.pipe(on_completion())

        probes: ConnectableObservable[Probe] = configs.pipe(
            probe_events(probe, clock, io, self.counters), ops.publish())
        policies: Observable[AlertPolicy] = configs.pipe(ops.map(_alert_policy))
        # Iterators, not the tuple: the probes read back are dropped once the operators have taken them.
        transitions: ConnectableObservable[AlertTransition] = probes.pipe(
            alert_transitions(policies, past.transitions, iter(past.probes)), ops.publish())

        def requests_for(latest: Config) -> Observable[ReportRequest]:
            return report_requests(latest, clock)

        requests: Observable[ReportRequest] = configs.pipe(
            ops.distinct_until_changed(_reporting), ops.map(requests_for), ops.switch_latest(),
            ops.take_until(stopped))
        earlier: ConnectableObservable[PastChunk] = (
            reactivex.empty() if past.earlier is None
            else past.earlier.chunks(background or ImmediateScheduler.singleton(), clock)).pipe(ops.publish())
        events: Observable[ReportEvent] = reactivex.merge(probes, requests, earlier)
        reports: ConnectableObservable[Report] = events.pipe(
            window_reports(config.report_windows, iter(past.probes)), ops.publish())

        self.configs: Observable[Config] = configs
        """Every config version in force, the first one included."""
        self.probes: Observable[Probe] = probes
        self.transitions: Observable[AlertTransition] = transitions
        self.reports: Observable[Report] = reports
        self.changes: Observable[ConfigChange] = configs.pipe(ops.pairwise(), ops.map(_change))
        """How each version after the first changed the sites."""
        self.past_loaded: Observable[PastChunk] = earlier
        """Each chunk of the restart's past as the report windows take it; completes once all is in."""
        # The past is read last, once everything else is subscribed: the clocks start first.
        self._connectables = (transitions, reports, probes, configs, earlier)

    def connect(self) -> abc.DisposableBase:
        """Start: the clocks run from here on. Disposing stops everything at once (no drain)."""
        return CompositeDisposable(*(c.connect() or CompositeDisposable() for c in self._connectables))
