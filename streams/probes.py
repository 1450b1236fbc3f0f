"""Every site's check clock, as one stream of probe results.

The clocks are one schedule on one timer (`streams.ticks.grid_ticks`), on the `clock` scheduler; each tick
hands its probe to the `io` scheduler (a thread pool in production), so a slow site never delays another
site's ticks; the results hop back onto the clock, so downstream sees one `on_next` at a time (of one
probe, or of the batch that finished while the clock was busy), on the clock's thread. A tick that finds its
site's previous probe still in flight is skipped and counted, never queued. Under a virtual-time clock with an immediate
`io` scheduler, the same code probes a real server while time stands still.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops

from monitoringapp.domain.checks import ProbeOutcome
from monitoringapp.domain.config import Config, SiteConfig, some_of
from monitoringapp.domain.events import LOCAL, Probe, ProbeBatch
from monitoringapp.domain.timefmt import epoch_seconds, whole_millis
from monitoringapp.streams.concurrent import map_on
from monitoringapp.streams.ticks import Tick, grid_ticks

ProbeFunction = Callable[[SiteConfig], ProbeOutcome]
"""Probe a site as its config says (`HttpProber.check`)."""
SiteChange = tuple[str, SiteConfig | None]
"""A site a config version starts, re-times (its new settings) or stops (None), by key."""
Scheduled = tuple[SiteConfig, Tick]
"""A site's tick: a probe to run."""


def _interval(site: SiteConfig) -> float:
    return site.check_interval


GATHER = 0.02
"""How long a monitor's first probe to land waits on the clock for others to land with it (seconds): sites' ticks
are spread over the second, and alone each probe cost the clock a wake-up and the operators a pass of reactivex's
plumbing. 200 sites at 1 s (`python -m bench --only capacity`, alternated, 2026-12-03): 0.31-0.32 ms of CPU a probe
against 0.39-0.40 delivering each at once. A transition is told at most this much later; a probe's time is its tick's
either way."""

LATENESS_KEPT = 1_000_000
"""Ticks whose lateness `TickCounters` keeps at most (8 MB), when it keeps them at all."""


@dataclass(slots=True)
class TickCounters:
    """What the clocks saw: ticks run (each a probe started), ticks skipped, how late ticks started (seconds, the
    first `LATENESS_KEPT` ticks'; kept only when `lateness` is given, for `--metrics` and the bench), and the probes
    in flight now (started, not landed: what a stop waits for).

    Lateness is kept on request, as 8-byte doubles: kept always, as a list of floats (32 bytes a tick), it grew
    -m by 23 MB in an hour of 200 sites at 1 s and by 32 MB from 17 minutes of 1,000, for figures only a
    benchmark reads."""

    ticks: int = 0
    skipped: int = 0
    lateness: array[float] | None = None
    in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, *, late: float | None = None, skipped: int = 0) -> None:
        with self._lock:
            if late is not None:
                self.ticks += 1
                self.in_flight += 1
                if self.lateness is not None and len(self.lateness) < LATENESS_KEPT:
                    self.lateness.append(late)
            self.skipped += skipped

    def landed(self) -> None:
        """A probe started by a recorded tick is over (with a result or an exception)."""
        with self._lock:
            self.in_flight -= 1


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """How a new config version differs from the running one: sites by key (`retimed`: those whose
    checkInterval or timeout changed, whose clocks restart; `changed`: every site kept that changed, with
    the config keys that did), the names of the other settings it changed (`settings`), and whether it only
    listed the same sites in another order (`reordered`)."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    retimed: tuple[str, ...]
    settings: tuple[str, ...] = ()
    changed: tuple[tuple[str, tuple[str, ...]], ...] = ()
    reordered: bool = False

    def summary(self) -> str:
        """`sites +1 (http://b/), -1 (http://a/), ~1 (http://c/: headers); alert settings changed`: the sites
        named, three at most, a changed one with what changed in it."""
        edited = dict(self.changed)
        edited.update((key, ()) for key in self.retimed if key not in edited)
        changes = [f"{key}: {', '.join(keys)}" if keys else key for key, keys in edited.items()]
        parts = [f"{sign}{len(urls)} ({some_of(urls)})" for sign, urls in (("+", self.added), ("-", self.removed))
                 if urls]
        if changes:
            parts.append(f"~{len(changes)} ({some_of(changes, separator='; ')})")
        if not parts:
            sites = "sites reordered" if self.reordered else "sites unchanged"
            if self.settings:
                return f"{sites}; {', '.join(self.settings)} changed"
            return sites if self.reordered else "sites and settings unchanged"
        settings = f"; {', '.join(self.settings)} changed" if self.settings else ""
        return f"sites {', '.join(parts)}{settings}"


def _retimed(before: SiteConfig, after: SiteConfig) -> bool:
    return (before.check_interval, before.timeout) != (after.check_interval, after.timeout)


def diff_sites(old: tuple[SiteConfig, ...], new: tuple[SiteConfig, ...]) -> ConfigChange:
    before = {site.key: site for site in old}
    after = {site.key: site for site in new}
    kept = [key for key in after if key in before and after[key] != before[key]]
    return ConfigChange(
        added=tuple(url for url in after if url not in before),
        removed=tuple(url for url in before if url not in after),
        retimed=tuple(key for key in kept if _retimed(before[key], after[key])),
        changed=tuple((key, before[key].changed_keys(after[key])) for key in kept),
    )


class RunningSites:
    """The sites of the config in force; `update` says which sites each new version starts, re-times or stops.

    A change is (url, the site's new settings, or None for a site the version drops). A site whose other
    settings changed (headers, conditions, ...) keeps its clock: `latest` gives its ticks its new settings."""

    __slots__ = ("by_key", "sites")

    def __init__(self) -> None:
        self.sites: tuple[SiteConfig, ...] = ()
        self.by_key: dict[str, SiteConfig] = {}

    def update(self, config: Config) -> list[SiteChange]:
        change = diff_sites(self.sites, config.sites)
        wanted = {site.key: site for site in config.sites}
        self.sites = config.sites
        self.by_key = wanted  # one assignment: a tick on the clock's thread sees the old sites or the new
        return [*((url, None) for url in change.removed), *((url, wanted[url]) for url in change.added),
                *((url, wanted[url]) for url in change.retimed)]

    def latest(self, scheduled: Scheduled) -> Scheduled:
        """A tick with its site's settings in force now (its clock may have been started by an older version)."""
        site, tick = scheduled
        return self.by_key.get(site.key, site), tick


class InFlight:
    """The sites with a probe under way. Shared by a site's clocks before and after a re-time, so a new
    clock never starts a probe beside the old one's; a tick of a busy site is skipped and counted."""

    __slots__ = ("busy", "clock", "counters")

    def __init__(self, clock: abc.SchedulerBase, counters: TickCounters) -> None:
        self.clock = clock
        self.counters = counters
        self.busy: set[str] = set()

    def claim(self, scheduled: Scheduled) -> bool:
        site, tick = scheduled
        if tick.missed:
            self.counters.record(skipped=tick.missed)
        if site.key in self.busy:
            self.counters.record(skipped=1)
            return False
        self.busy.add(site.key)
        self.counters.record(late=epoch_seconds(self.clock.now) - tick.due)
        return True


def probe_batches(
    probe: ProbeFunction,
    clock: abc.SchedulerBase,
    io: abc.SchedulerBase,
    counters: TickCounters,
    location: str = LOCAL,
    gather: float = 0.0,
) -> Callable[[Observable[Config]], Observable[ProbeBatch]]:
    """Probes of every site of the latest config, as one stream of batches on `clock`: the probes that finished
    while the clock was busy, or within `gather` seconds of the first of them (`GATHER` in a monitor), come
    together, in the order they finished (see `streams.concurrent.map_on`).

    A new config version is applied as a diff: added sites start, removed ones stop, a site whose interval
    or timeout changed is re-timed; the others go on undisturbed, a site whose other settings changed (its
    request, its conditions) with them from its next tick. When the configs complete, the clocks
    stop, and the stream completes once the probes in flight have landed.

    ```text
    configs:   C{a:2s}--------C{a:2s, b:3s}------|
               [probe_batches(probe, clock, io, counters)]
    out:       a----a----a----(ab)-a---b-a----a--(a)|     (a probe in flight lands after the stop)
    ```

    Example: ``configs.pipe(probe_batches(HttpProber().check, EventLoopScheduler(), ProbePool(), TickCounters()))``
    """

    def probe_of(in_flight: InFlight) -> Callable[[Scheduled], Probe]:
        def run(scheduled: Scheduled) -> Probe:
            site, tick = scheduled
            try:
                outcome = probe(site)
            finally:
                in_flight.busy.discard(site.key)
                in_flight.counters.landed()
            # Stamped at the store's resolution, so readers of the store (-p) see what the monitor judged.
            return Probe(whole_millis(tick.due), site.key, outcome.available, outcome.status,
                         outcome.response_time_ms, outcome.error, location, outcome.detail,
                         outcome.certificate_expiry)

        return run

    def operator(configs: Observable[Config]) -> Observable[ProbeBatch]:
        def factory(_: abc.SchedulerBase | None) -> Observable[ProbeBatch]:
            running = RunningSites()
            in_flight = InFlight(clock, counters)
            # One timer for every site's clock: a version's changes start, re-time or stop clocks by URL, and
            # the other sites keep their grids. A probe already in flight is outside the clocks: it still lands.
            changes: Observable[list[SiteChange]] = configs.pipe(ops.map(running.update))
            ticks: Observable[Scheduled] = changes.pipe(grid_ticks(clock, _interval))
            return ticks.pipe(ops.map(running.latest), ops.filter(in_flight.claim),
                              map_on(io, clock, gather)(probe_of(in_flight)))

        return reactivex.defer(factory)

    return operator
