"""Each site's check timer as a stream of probe results, merged into one serialized stream.

Ticks run on the `clock` scheduler; each tick hands its probe to the `io`
scheduler (a thread pool in production), so a slow site never delays another
site's ticks; the result hops back onto the clock, so downstream sees one
`on_next` at a time. A tick that finds its site's previous probe still in
flight is skipped and counted, never queued. Under a virtual-time clock with
an immediate `io` scheduler, the same code probes a real server while time
stands still.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable

from domain.config import Config, SiteConfig
from domain.events import Probe
from domain.timefmt import epoch_seconds, whole_millis
from streams.http_probe import ProbeOutcome
from streams.ticks import fixed_rate_ticks

ProbeFunction = Callable[[str, float], ProbeOutcome]


@dataclass(slots=True)
class TickCounters:
    """What the clocks saw: ticks run, ticks skipped, and how late ticks started (seconds)."""

    ticks: int = 0
    skipped: int = 0
    lateness: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, *, late: float | None = None, skipped: int = 0) -> None:
        with self._lock:
            if late is not None:
                self.ticks += 1
                if len(self.lateness) < 1_000_000:
                    self.lateness.append(late)
            self.skipped += skipped


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """How a new config version differs from the running one, by site URL."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    retimed: tuple[str, ...]

    def summary(self) -> str:
        return f"+{len(self.added)} site, -{len(self.removed)}, ~{len(self.retimed)} changed"


def diff_sites(old: tuple[SiteConfig, ...], new: tuple[SiteConfig, ...]) -> ConfigChange:
    before = {site.url: site for site in old}
    after = {site.url: site for site in new}
    return ConfigChange(
        added=tuple(url for url in after if url not in before),
        removed=tuple(url for url in before if url not in after),
        retimed=tuple(url for url in after if url in before and after[url] != before[url]),
    )


def start_site_clock(
    site: SiteConfig,
    probe: ProbeFunction,
    clock: abc.SchedulerBase,
    io: abc.SchedulerBase,
    counters: TickCounters,
    emit: Callable[[Probe], None],
    in_flight: set[str] | None = None,
) -> abc.DisposableBase:
    """Probe `site` on every tick of its `check_interval`; `emit` each result on `clock`.

    Disposing stops the ticks; a probe already in flight still delivers its result.
    `in_flight` holds the URLs with a probe under way; sharing one set across a site's
    successive clocks (a reload that re-times it) keeps a new clock from overlapping the
    old one's probe.
    """
    busy = in_flight if in_flight is not None else set()
    url = site.url

    def run(due: float) -> None:
        try:
            outcome = probe(site.url, site.timeout)
            # Stamped at the store's resolution, so readers of the store (-p) see what the monitor judged.
            result = Probe(whole_millis(due), site.url, outcome.available, outcome.status,
                           outcome.response_time_ms, outcome.error)

            def deliver(_: abc.SchedulerBase, __: object = None) -> None:
                emit(result)

            clock.schedule(deliver)
        finally:
            busy.discard(url)

    def on_tick(due: float) -> None:
        if url in busy:
            counters.record(skipped=1)
            return
        busy.add(url)
        counters.record(late=epoch_seconds(clock.now) - due)

        def probe_now(_: abc.SchedulerBase, __: object = None) -> None:
            run(due)

        io.schedule(probe_now)

    ticks = fixed_rate_ticks(site.check_interval, clock, on_missed=lambda n: counters.record(skipped=n))
    return ticks.subscribe(on_tick)


def probe_events(
    configs: Observable[Config],
    probe: ProbeFunction,
    clock: abc.SchedulerBase,
    io: abc.SchedulerBase,
    counters: TickCounters,
    on_change: Callable[[ConfigChange], None] | None = None,
) -> Observable[Probe]:
    """Probes of every site of the latest config, as one stream on `clock`.

    A new config version is applied as a diff: added sites start, removed ones
    stop, a site whose interval or timeout changed is re-timed; the others go
    on undisturbed. `on_change` hears of every version after the first.
    """

    def subscribe(observer: abc.ObserverBase[Probe], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        running: dict[str, tuple[SiteConfig, abc.DisposableBase]] = {}
        in_flight: set[str] = set()  # shared by a site's clocks before and after a re-time
        lock = threading.Lock()
        first = True

        def start(site: SiteConfig) -> None:
            running[site.url] = (site, start_site_clock(site, probe, clock, io, counters, observer.on_next,
                                                        in_flight))

        def apply(config: Config) -> None:
            nonlocal first
            with lock:
                change = diff_sites(tuple(site for site, _ in running.values()), config.sites)
                for url in (*change.removed, *change.retimed):
                    running.pop(url)[1].dispose()
                wanted = {site.url: site for site in config.sites}
                for url in (*change.added, *change.retimed):
                    start(wanted[url])
                if not first and on_change is not None:
                    on_change(change)
                first = False

        def stop_all() -> None:
            with lock:
                for _, subscription in running.values():
                    subscription.dispose()
                running.clear()

        # When `configs` completes, the clocks stop but the stream stays open, so that
        # probes in flight still arrive; disposing the subscription ends it.
        versions = configs.subscribe(apply, observer.on_error, stop_all)
        return CompositeDisposable(versions, Disposable(stop_all))

    return Observable(subscribe)
