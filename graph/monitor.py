"""The monitoring graph: config versions → site clocks and probes → windows and alerts → probes,
transitions, reports and config changes out; on a restart, the stored past in.

Monitoring mode and test mode build the very same graph; they differ only in the schedulers (`clock`
real or virtual, `io` a thread pool or immediate), in what the probe function talks to, and in the
sinks they subscribe. The graph takes no console and no callbacks.

    config, updates ─▶ configs ─┬─▶ probe_batches ─▶ batches ┬─────────────────────────▶ probe_batches, probes
                                ├─▶ policies ───────────────┼─▶ alert_transitions ───┐
                                │                           ├─▶ certificate_warnings ┴─▶ transitions
                                ├─▶ report_requests ─┐      └─┐
                                │                    └─ merge ┴─▶ window_reports ──────▶ reports
                                └─▶ pairwise diff ────────────────────────────────────▶ changes
    past.earlier (read in the background, newest first) ──────────▶ report windows, and ▶ past_loaded
    past.before (each site's last failure and failing run before it, read in the background) ─▶ report windows
    a version that adds sites ─▶ their past in `log` (as a restart's: the longest window, and their outcomes
                                 from before it, read in the background) ─────────────────▶ report windows
                             └─▶ their last alert or recovery, certificate warnings told (read in the background;
                                 their probes wait to be judged until then) ──────────────▶ alert machines

A restart is blind only while the last alert window is read (`load_past`): the alert machines need no more,
and the clocks start right after. The rest of the longest window reaches the report windows while the clocks
already tick, a chunk at a time (see `streams.past`).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TypeGuard

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import CompositeDisposable
from reactivex.observable import ConnectableObservable
from reactivex.scheduler import ImmediateScheduler

from monitoringapp.domain.config import Config, ReportSpec, SitePolicies
from monitoringapp.domain.events import (
    LOCAL,
    AlertTransition,
    OutcomesBefore,
    PastChunk,
    Probe,
    ProbeBatch,
    Report,
    ReportRequest,
    Stall,
    TransitionKind,
)
from monitoringapp.domain.timefmt import epoch_seconds
from monitoringapp.operators.alert_machine import AlertStates
from monitoringapp.operators.alerts import alert_transitions
from monitoringapp.operators.certificate_watch import DAY, WarningsTold
from monitoringapp.operators.certificates import certificate_warnings
from monitoringapp.operators.reports import ReportEvent, window_reports
from monitoringapp.operators.typed import each_at_once, keep, on_completion, unbatched
from monitoringapp.store.log import LogReader, LogUnavailable, PastReader, StoreError
from monitoringapp.streams.past import LoggedPast, OutcomesPast
from monitoringapp.streams.probes import ConfigChange, ProbeFunction, TickCounters, diff_sites, probe_batches
from monitoringapp.streams.ticks import Tick, clock_stalls, fixed_rate_ticks


@dataclass(frozen=True, slots=True)
class StoredPast:
    """What a restart starts from: each site's last alert transition, the certificate warnings already told,
    the probes of the last alert window (read before the clocks start), where the rest of the longest
    window's probes are (`earlier`, read while the clocks tick), and each site's last success, last failure and
    failing run from before all of them (`before`, read while the clocks tick: what "down for" and "last fail"
    reach back to)."""

    probes: tuple[Probe, ...] = ()
    transitions: Mapping[str, AlertTransition] = field(default_factory=dict)
    certificate_warnings: tuple[AlertTransition, ...] = ()
    earlier: LoggedPast | None = None
    before: OutcomesPast | None = None


def load_past(log: PastReader, config: Config, now: float, *, judges: bool = True) -> StoredPast:
    """The logged past of the sites in `config` before `now` (none if the log cannot be read yet): their last
    alert transitions, certificate warnings and the probes of the alert window, read now; the rest of the
    longest window and each site's outcomes from before it, to read later. A monitor that `judges` nothing (a
    prober) has no alert machine to resume: nothing is read now but whether there is a past, and all of it is
    read later, while the clocks tick."""
    hosts = config.keys
    # What every site's alert machine needs to resume; a prober's clocks wait for none of it. Its probes from
    # `now` on are live (a clock started at `now` or later, its time rounded to the millisecond): 1 ms before is
    # the past.
    recent = now - config.policies.longest_window if judges else now - 0.001
    since = now - config.longest_window
    try:
        probes = log.probes_since(recent, hosts).events if judges else ()
        transitions = log.last_transitions(hosts) if judges else {}
        warned = stored_certificate_warnings(log, config, now) if judges else ()
        newest = log.latest_probe_time()
    except LogUnavailable:
        return StoredPast()
    # A new log, or one whose probes are all older than the longest window, has no more past to read.
    more = since < recent and newest is not None and newest > since
    # The probes read (now or later) are those after `min(since, recent)`; the log says what came before.
    before = OutcomesPast(log, hosts, min(since, recent)) if newest is not None else None
    return StoredPast(tuple(probes), transitions, warned, LoggedPast(log, hosts, since, recent) if more else None,
                      before)


def added_sites(versions: tuple[Config, Config]) -> frozenset[str]:
    """The sites the second of `versions` adds."""
    old, new = versions
    return new.keys - old.keys


def added_sites_past(log: PastReader, new: Config, added: frozenset[str], now: float, background: abc.SchedulerBase,
                     clock: abc.SchedulerBase) -> Observable[ReportEvent]:
    """What the report windows need of the sites `added` by the config `new` at `now`, as a restart reads it:
    their probes of its longest window before `now` and their outcomes from before that, read on `background`
    and delivered on `clock`.

    First, at once, a request for no report that keeps the windows of every site but the added ones: a site
    removed and added back before the next report left its window behind, which its past read back from the log
    would count twice. The added sites' clocks tick from `now` on, so their past ends just before it.

    ```text
    versions:  ---(v1, v2 adds c)-----------------
    out:       ---ReportRequest(keep all but c)--PastChunk(c)--OutcomesBefore(c)--PastChunk(c)--|
    ```
    """
    since = now - new.longest_window
    read = LoggedPast(log, added, since, math.nextafter(now, -math.inf))
    past: Observable[ReportEvent] = reactivex.merge(read.chunks(background, clock),
                                                    OutcomesPast(log, added, since).read(background, clock))
    forget: Observable[ReportEvent] = reactivex.just(ReportRequest(now, (), new.keys - added),
                                                     ImmediateScheduler.singleton())
    return reactivex.concat(forget, past)


class PastReadings:
    """Which reading of the log each site's past in the report windows comes from: a restart's (reading 0),
    until a version adds the site and reads its past again (a later reading). A site removed and added back
    while an earlier reading of it is still under way (a restart's past is read a chunk at a time) would
    otherwise be counted by both: that reading's chunks of it still to come are left out."""

    __slots__ = ("_count", "_reading")

    def __init__(self) -> None:
        self._count = 0
        self._reading: dict[str, int] = {}

    def begin(self, hosts: frozenset[str]) -> int:
        """A new reading of the past of `hosts`, which from now on is theirs alone; its number."""
        self._count += 1
        for host in hosts:
            self._reading[host] = self._count
        return self._count

    def current(self, reading: int, event: ReportEvent) -> ReportEvent:
        """`event` as the windows take it from `reading`: its sites' past only where it is still theirs
        (anything else as it is)."""
        if isinstance(event, PastChunk):
            sites = tuple(site for site in event.sites if self._reading.get(site.host, 0) == reading)
            if len(sites) < len(event.sites):
                return replace(event, sites=sites)
        elif isinstance(event, OutcomesBefore):  # a branch of its own: `replace` is typed per class
            outcomes = tuple(site for site in event.sites if self._reading.get(site.host, 0) == reading)
            if len(outcomes) < len(event.sites):
                return replace(event, sites=outcomes)
        return event


def widened_sites(versions: tuple[Config, Config]) -> frozenset[str]:
    """The sites both of `versions` monitor to which the second gives a longer alert window."""
    old, new = versions
    before, after = old.policies, new.policies
    return frozenset(key for key in old.keys & new.keys if after.alert(key).window > before.alert(key).window)


def added_sites_alert_states(log: LogReader, new: Config, added: frozenset[str], now: float) -> AlertStates:
    """The last stored alert or recovery of each site `added` by the config `new` at `now` (or given a longer alert
    window), and its stored probes of the alert window before `now` (none if the log cannot be read): what its alert
    machine resumes from, as at a restart, so an alert still open is neither told again nor left without its
    recovery, and recovers over a whole window. The added sites' probes from `now` on are live (the log may hold
    some by the time of the read)."""
    try:
        transitions = log.last_transitions(added)
        recent = log.probes_since(now - new.policies.longest_window, added).events
    except (LogUnavailable, StoreError):
        return AlertStates({})
    return AlertStates(transitions, tuple(probe for probe in recent if probe.timestamp < now))


def added_sites_warnings(log: LogReader, new: Config, added: frozenset[str], now: float) -> WarningsTold:
    """The certificate warnings stored of the sites `added` by the config `new` at `now` that may still matter
    (none if the log cannot be read): as at a restart, none is told again."""
    try:
        return WarningsTold(stored_certificate_warnings(log, new, now, added))
    except (LogUnavailable, StoreError):
        return WarningsTold(())


@dataclass(frozen=True, slots=True)
class StatesRead:
    """What the alert machines and the certificate watch resume from for the sites a reload adds, read in the
    background (`reading`, as numbered by `ProbesWaitingForTheirPast.hold`)."""

    reading: int
    states: AlertStates
    warnings: WarningsTold


ALL_READ = StatesRead(-1, AlertStates({}), WarningsTold(()))
"""The end of the reads: every probe still waiting is released (its site is judged from its first probe)."""


class ProbesWaitingForTheirPast:
    """The probes as the alert machines and the certificate watch take them: those of a site a reload adds wait
    until its stored alert state and certificate warnings, read in the background, have come, so its first probe
    is judged as at a restart (an alert left open neither told again nor left without its recovery, no
    certificate warning told twice). Those of a site a reload removed are not judged at all: a probe in flight
    as the version was applied still lands (and is stored), but an alert raised by it would be told after the
    line that said the site was removed, and left open for good. Every other site's probes go through as they
    land."""

    __slots__ = ("_count", "_gone", "_held", "_waiting")

    def __init__(self) -> None:
        self._count = 0
        self._waiting: dict[str, int] = {}
        self._held: list[Probe] = []
        self._gone: frozenset[str] = frozenset()

    def apply(self, versions: tuple[Config, Config]) -> None:
        """The second of `versions` is in force: the sites it removed are judged no more (until one comes back)."""
        old, new = versions
        self._gone = (self._gone | (old.keys - new.keys)) - new.keys

    def hold(self, hosts: frozenset[str]) -> int:
        """The probes of `hosts` wait for a new reading, from now on (a later one for a host replaces it): its
        number."""
        self._count += 1
        for host in hosts:
            self._waiting[host] = self._count
        return self._count

    def admit(self, probes: ProbeBatch) -> ProbeBatch:
        """The probes of `probes` to judge now; those of sites still waiting are kept, those of sites gone dropped."""
        waiting, gone = self._waiting, self._gone
        if not waiting and not gone:  # the way of every batch but those of a reload's first moments
            return probes
        self._held.extend(probe for probe in probes if probe.host in waiting)
        return tuple(probe for probe in probes if probe.host not in waiting and probe.host not in gone)

    def release(self, read: StatesRead) -> tuple[StatesRead, ProbeBatch]:
        """`read`, then the probes that waited for it (for `ALL_READ`: all still waiting; of a site gone since, none),
        in the order they landed: the states go in before the probes they are for, without any probe they read back
        that waited too (`_without_held`)."""
        everything = read.reading == ALL_READ.reading
        done = {host for host, reading in self._waiting.items() if everything or reading == read.reading}
        for host in done:
            del self._waiting[host]
        released = tuple(probe for probe in self._held if probe.host in done and probe.host not in self._gone)
        self._held = [probe for probe in self._held if probe.host not in done]
        return _without_held(read, released), released


def _without_held(read: StatesRead, held: ProbeBatch) -> StatesRead:
    """`read` without the probes it read back of a site from its first `held` probe on: those the log had stored
    of the probes that waited for the read (a site added, removed and added again before its first read was in,
    read back up to its second addition), which go in once, as the held probes they are."""
    first_held: dict[str, float] = {}
    for probe in held:
        first_held[probe.host] = min(probe.timestamp, first_held.get(probe.host, math.inf))
    probes = read.states.probes
    if not first_held or not probes:
        return read
    kept = tuple(probe for probe in probes if probe.timestamp < first_held.get(probe.host, math.inf))
    return read if len(kept) == len(probes) else replace(read, states=replace(read.states, probes=kept))


def _any_probe(probes: ProbeBatch) -> bool:
    return bool(probes)


def _is_states_read(event: ProbeBatch | StatesRead) -> TypeGuard[StatesRead]:
    return isinstance(event, StatesRead)


def _is_batch(event: ProbeBatch | StatesRead) -> TypeGuard[ProbeBatch]:
    return isinstance(event, tuple)


def _alert_states_of(read: StatesRead) -> AlertStates:
    return read.states


def _warnings_of(read: StatesRead) -> WarningsTold:
    return read.warnings


def _any_state(states: AlertStates) -> bool:
    return bool(states.transitions or states.probes)


def _any_warning(told: WarningsTold) -> bool:
    return bool(told.warnings)


def stored_certificate_warnings(log: LogReader, config: Config, now: float,
                                hosts: frozenset[str] | None = None) -> tuple[AlertTransition, ...]:
    """The certificate warnings of `config`'s sites (of `hosts` only, when given) that may still matter at `now`:
    a warning of a certificate not yet expired was told at most its site's widest threshold before `now`."""
    hosts = config.keys if hosts is None else hosts
    widest = max((day for site in config.sites if site.key in hosts for day in site.certificate_days), default=0.0)
    if not widest:
        return ()
    told = log.transitions_since(now - widest * DAY, hosts).events
    return tuple(t for t in told if t.kind is TransitionKind.CERTIFICATE)


def report_requests(config: Config, clock: abc.SchedulerBase) -> Observable[ReportRequest]:
    """One `ReportRequest` for the config's sites per tick of each of its report cadences."""
    hosts = config.keys

    def requests_of(spec: ReportSpec) -> Observable[ReportRequest]:
        def request(tick: Tick) -> ReportRequest:
            return ReportRequest(tick.due, spec.windows, hosts)

        return fixed_rate_ticks(spec.every, clock, first_after=spec.every).pipe(ops.map(request))

    return reactivex.merge(*(requests_of(spec) for spec in config.reports))


def _site_policies(config: Config) -> SitePolicies:
    return config.policies


def _reporting(config: Config) -> tuple[tuple[ReportSpec, ...], frozenset[str]]:
    """What report requests depend on: a reload that changes neither keeps the report clocks."""
    return config.reports, config.keys


def _alert_settings(config: Config, keys: frozenset[str]) -> tuple[object, ...]:
    policies = config.policies
    return config.alert, {key: (policies.alert(key), policies.certificate(key)) for key in keys}


def _change(versions: tuple[Config, Config]) -> ConfigChange:
    old, new = versions
    sites = diff_sites(old.sites, new.sites)
    kept = old.keys & new.keys  # an added or removed site is said as such, not as a changed setting
    # Every setting a version may change is named, those -m does not use too (the notifier's, the evaluator's): an
    # edit of them said as "sites and settings unchanged" read as one the monitor had missed.
    settings = tuple(name for name, before, after in (
        ("alert settings", _alert_settings(old, kept), _alert_settings(new, kept)),
        ("reports", old.reports, new.reports),
        ("retention", old.retention, new.retention),
        ("rollupRetention", old.rollup_retention, new.rollup_retention),
        ("notifications", old.notifications, new.notifications),
        ("maintenance", old.maintenance, new.maintenance),
        ("quorum", old.quorum, new.quorum)) if before != after)
    reordered = old.keys == new.keys and [site.key for site in old.sites] != [site.key for site in new.sites]
    return ConfigChange(sites.added, sites.removed, sites.retimed, settings, sites.changed, reordered)


class MonitorGraph:
    """The monitoring graph of `config` and its later versions `updates`, which completes to stop.

    Subscribe the sinks to its streams, then `connect` (transitions and reports run only if subscribed). Every
    stream runs on `clock`'s thread. When `updates` completes, the clocks stop and the streams complete once the
    probes in flight have landed. `past.earlier` is read on `background` (default: at once, on the thread that
    delivers it to the clock), and so is the past in `log` of each site a later version adds, with its last alert
    or recovery and its certificate warnings there: its probes are judged once those are in (None: an added site
    starts from its first probe). `tick_lateness`: `counters` keeps how late each tick started (for `--metrics`).
    `gather`: how long the first probe to land waits for others to come in its batch (`streams.probes.GATHER`).
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
        background: abc.SchedulerBase | None = None,
        log: PastReader | None = None,
        tick_lateness: bool = False,
        gather: float = 0.0,
    ) -> None:
        past = past or StoredPast()
        background = background or ImmediateScheduler.singleton()
        self.counters = TickCounters(lateness=array("d") if tick_lateness else None)
        configs: ConnectableObservable[Config] = updates.pipe(ops.start_with(config), ops.replay(buffer_size=1))
        stopped = configs.pipe(on_completion())

        # The operators take the probes in the batches they land in (what finished while the clock was busy):
        # reactivex's plumbing is then paid once a batch, not once a probe.
        batches: ConnectableObservable[ProbeBatch] = configs.pipe(
            probe_batches(probe, clock, io, self.counters, location, gather), ops.publish())
        policies: Observable[SitePolicies] = configs.pipe(ops.map(_site_policies))

        def judged() -> Observable[ProbeBatch | StatesRead]:
            # The probes to judge, and the states read for the sites a reload adds before their first probe is
            # judged. Every version is applied and every read delivered on the clock's thread.
            waits = ProbesWaitingForTheirPast()

            def states_of_added(versions: tuple[Config, Config]) -> Observable[StatesRead]:
                # A site given a longer alert window reads its stored probes of it as an added site does: its
                # window held only the old span.
                waits.apply(versions)
                added, widened = added_sites(versions), widened_sites(versions)
                if log is None or not (added or widened):
                    return reactivex.empty()
                reading, now = waits.hold(added | widened), epoch_seconds(clock.now)

                def read() -> StatesRead:  # on `background`
                    states = added_sites_alert_states(log, versions[1], added | widened, now)
                    return StatesRead(reading, replace(states, widened=widened),
                                      added_sites_warnings(log, versions[1], added, now))

                return reactivex.from_callable(read, background).pipe(ops.observe_on(clock))

            def then_released(read: StatesRead) -> Observable[ProbeBatch | StatesRead]:
                # Two events, the states first: each goes to every subscriber before the next, whatever their
                # order of subscription.
                return each_at_once(waits.release(read))

            # Read off the clock's thread (on SQLite, a scan of the alerts: half a second at 200,000), while the
            # added sites' probes wait to be judged; the probes still waiting when the last lands are judged
            # without them.
            reads = configs.pipe(ops.pairwise(), ops.flat_map(states_of_added),
                                 ops.take_until(batches.pipe(on_completion())))
            admitted = batches.pipe(ops.map(waits.admit), ops.filter(_any_probe))
            return reactivex.concat(
                reactivex.merge(reads.pipe(ops.flat_map(then_released)), admitted),
                reactivex.defer(lambda _: then_released(ALL_READ)))

        # Shared by the alert machines and the certificate watch, and run only when transitions are subscribed.
        judging: Observable[ProbeBatch | StatesRead] = reactivex.defer(lambda _: judged()).pipe(ops.share())
        released: Observable[StatesRead] = judging.pipe(keep(_is_states_read))
        judged_batches: Observable[ProbeBatch] = judging.pipe(keep(_is_batch))
        alert_inputs: Observable[SitePolicies | AlertStates] = reactivex.merge(
            policies, released.pipe(ops.map(_alert_states_of), ops.filter(_any_state)))
        certificate_inputs: Observable[SitePolicies | WarningsTold] = reactivex.merge(
            policies, released.pipe(ops.map(_warnings_of), ops.filter(_any_warning)))
        # Shared by their subscribers and run only when subscribed (a prober subscribes neither: it judges nothing);
        # every subscription comes before `connect`, so none misses a probe. A probe's alert or recovery comes
        # before its certificate warning (in a batch: the batch's alerts and recoveries come before its warnings).
        # Iterators, not the tuple: the probes read back are dropped once the operators have taken them.
        transitions: Observable[AlertTransition] = reactivex.merge(
            judged_batches.pipe(alert_transitions(alert_inputs, past.transitions, iter(past.probes))),
            judged_batches.pipe(certificate_warnings(certificate_inputs, past.certificate_warnings)),
        ).pipe(ops.share())

        def requests_for(latest: Config) -> Observable[ReportRequest]:
            return report_requests(latest, clock)

        requests: Observable[ReportRequest] = configs.pipe(
            ops.distinct_until_changed(_reporting), ops.map(requests_for), ops.switch_latest(),
            ops.take_until(stopped))
        earlier: ConnectableObservable[PastChunk] = (
            reactivex.empty() if past.earlier is None
            else past.earlier.chunks(background, clock)).pipe(ops.publish())
        before: Observable[OutcomesBefore] = (
            reactivex.empty() if past.before is None
            else past.before.read(background, clock))

        def report_events() -> Observable[ReportEvent]:
            # Every reading of the past is delivered on the clock's thread, as the versions are applied.
            readings = PastReadings()

            def of_reading(reading: int) -> Callable[[ReportEvent], ReportEvent]:
                return partial(readings.current, reading)

            def past_of_added(versions: tuple[Config, Config]) -> Observable[ReportEvent]:
                added = added_sites(versions)
                if log is None or not added:
                    return reactivex.empty()
                reading = readings.begin(added)
                return added_sites_past(log, versions[1], added, epoch_seconds(clock.now), background, clock).pipe(
                    ops.map(of_reading(reading)))

            # Applied on the clock's thread like the version itself: the windows are told before an added
            # site's first probe lands (it ticks at once, and its probe comes back through the pool).
            added: Observable[ReportEvent] = configs.pipe(ops.pairwise(), ops.flat_map(past_of_added),
                                                          ops.take_until(stopped))
            restart: Observable[ReportEvent] = reactivex.merge(earlier, before).pipe(ops.map(of_reading(0)))
            return reactivex.merge(batches, requests, restart, added)

        events: Observable[ReportEvent] = reactivex.defer(lambda _: report_events())
        # Its own probes, on its own clock: its windows follow a step of it (a reader of several locations' does not).
        reports: Observable[Report] = events.pipe(
            window_reports(config.report_windows, iter(past.probes), follows_clock_steps=True), ops.share())

        self.configs: Observable[Config] = configs
        """Every config version in force, the first one included."""
        self.probe_batches: Observable[ProbeBatch] = batches
        """The probes as they land: those that finished while the clock was busy come as one batch."""
        self.probes: Observable[Probe] = batches.pipe(unbatched())
        """The probes as they land, one at a time."""
        self.transitions: Observable[AlertTransition] = transitions
        self.reports: Observable[Report] = reports
        self.changes: Observable[ConfigChange] = configs.pipe(ops.pairwise(), ops.map(_change))
        """How each version after the first changed the sites."""
        self.stalls: Observable[Stall] = clock_stalls(clock).pipe(ops.take_until(stopped))
        """The times the clocks stood still (the process stopped, its VM paused), each as they run again."""
        self.past_loaded: Observable[PastChunk] = earlier
        """Each chunk of the restart's past as the report windows take it; completes once all is in."""
        # The past is read last, once everything else is subscribed: the clocks start first.
        self._connectables = (batches, configs, earlier)

    def connect(self) -> abc.DisposableBase:
        """Start: the clocks run from here on. Disposing stops everything at once (no drain)."""
        return CompositeDisposable(*(c.connect() or CompositeDisposable() for c in self._connectables))
