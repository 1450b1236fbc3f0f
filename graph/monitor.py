"""The monitoring graph: config versions → site clocks and probes → windows and alerts → probes,
transitions, reports and config changes out.

Monitoring mode and test mode build the very same graph; they differ only in the schedulers (`clock`
real or virtual, `io` a thread pool or immediate), in what the probe function talks to, and in the
sinks they subscribe. The graph takes no console and no callbacks.

    config, updates ─▶ configs ─┬─▶ probe_events ─▶ probes ─┬──────────────────────────▶ probes
                                ├─▶ policies ───────────────┼─▶ alert_transitions ─────▶ transitions
                                ├─▶ report_requests ─┐      └─┐
                                │                    └─ merge ┴─▶ window_reports ──────▶ reports
                                └─▶ pairwise diff ────────────────────────────────────▶ changes
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable
from reactivex.observable import ConnectableObservable

from monitoringapp.domain.config import AlertPolicy, Config, ReportSpec
from monitoringapp.domain.events import LOCAL, AlertTransition, Probe, Report, ReportRequest
from monitoringapp.operators.alerts import alert_transitions
from monitoringapp.operators.reports import window_reports
from monitoringapp.operators.typed import on_completion
from monitoringapp.store.log import LogReader, LogUnavailable
from monitoringapp.streams.probes import ConfigChange, ProbeFunction, TickCounters, diff_sites, probe_events
from monitoringapp.streams.ticks import Tick, fixed_rate_ticks


@dataclass(frozen=True, slots=True)
class StoredPast:
    """What a restart starts from: recent probes and each site's last alert transition."""

    probes: tuple[Probe, ...] = ()
    transitions: Mapping[str, AlertTransition] = field(default_factory=dict)


def load_past(log: LogReader, config: Config, now: float) -> StoredPast:
    """The logged past of the sites in `config` over its longest window before `now` (none if the log
    cannot be read yet)."""
    hosts = frozenset(site.url for site in config.sites)
    try:
        probes = log.probes_since(now - config.longest_window, hosts).events
        transitions = log.last_transitions(hosts)
    except LogUnavailable:
        return StoredPast()
    return StoredPast(tuple(probes), transitions)


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
    sites = diff_sites(old.sites, new.sites)
    settings = tuple(name for name, before, after in (
        ("alert settings", old.alert, new.alert), ("reports", old.reports, new.reports),
        ("retention", old.retention, new.retention)) if before != after)
    return ConfigChange(sites.added, sites.removed, sites.retimed, settings)


class MonitorGraph:
    """The monitoring graph of `config` and its later versions `updates`, which completes to stop.

    Subscribe the sinks to its streams, then `connect` (transitions and reports run only if subscribed). Every
    stream runs on `clock`'s thread. When `updates` completes, the clocks stop and the streams complete once the
    probes in flight have landed.
    """

    def __init__(
        self,
        config: Config,
        updates: Observable[Config],
        probe: ProbeFunction,
        clock: abc.SchedulerBase,
        io: abc.SchedulerBase,
        past: StoredPast | None = None,
        location: str = LOCAL,
    ) -> None:
        past = past or StoredPast()
        self.counters = TickCounters()
        configs: ConnectableObservable[Config] = updates.pipe(ops.start_with(config), ops.replay(buffer_size=1))
        stopped = configs.pipe(on_completion())

        probes: ConnectableObservable[Probe] = configs.pipe(
            probe_events(probe, clock, io, self.counters, location), ops.publish())
        policies: Observable[AlertPolicy] = configs.pipe(ops.map(_alert_policy))
        # Shared by their subscribers and run only when subscribed (a prober subscribes neither: it judges nothing);
        # every subscription comes before `connect`, so none misses a probe.
        transitions: Observable[AlertTransition] = probes.pipe(
            alert_transitions(policies, past.transitions, past.probes), ops.share())

        def requests_for(latest: Config) -> Observable[ReportRequest]:
            return report_requests(latest, clock)

        requests: Observable[ReportRequest] = configs.pipe(
            ops.distinct_until_changed(_reporting), ops.map(requests_for), ops.switch_latest(),
            ops.take_until(stopped))
        events: Observable[Probe | ReportRequest] = reactivex.merge(probes, requests)
        reports: Observable[Report] = events.pipe(window_reports(config.report_windows, past.probes), ops.share())

        self.configs: Observable[Config] = configs
        """Every config version in force, the first one included."""
        self.probes: Observable[Probe] = probes
        self.transitions: Observable[AlertTransition] = transitions
        self.reports: Observable[Report] = reports
        self.changes: Observable[ConfigChange] = configs.pipe(ops.pairwise(), ops.map(_change))
        """How each version after the first changed the sites."""
        self._connectables = (probes, configs)

    def connect(self) -> abc.DisposableBase:
        """Start: the clocks run from here on. Disposing stops everything at once (no drain)."""
        return CompositeDisposable(*(c.connect() or CompositeDisposable() for c in self._connectables))
