"""Windowed reports: probes and report requests in, one `Report` per requested span out."""

from __future__ import annotations

from collections.abc import Callable

import reactivex
from reactivex import Observable, abc

from domain.events import Probe, Report, ReportRequest
from operators.stats import window_stats
from operators.window import SlidingWindow


class SiteWindows:
    """The sliding windows of every site seen, keyed by host."""

    __slots__ = ("by_host", "spans")

    def __init__(self, spans: tuple[float, ...]) -> None:
        self.spans = spans
        self.by_host: dict[str, SlidingWindow] = {}

    def add(self, probe: Probe) -> None:
        window = self.by_host.get(probe.host)
        if window is None:
            window = self.by_host[probe.host] = SlidingWindow(self.spans, lazy=True)  # stats advance first
        window.add(probe)

    def ensure_spans(self, spans: tuple[float, ...]) -> None:
        wanted = tuple(sorted(set(self.spans) | set(spans)))
        if wanted != self.spans:
            self.spans = wanted
            for window in self.by_host.values():
                window.set_spans(wanted)

    def report(self, request: ReportRequest) -> list[Report]:
        self.ensure_spans(request.spans)
        if request.hosts is not None:
            for gone in self.by_host.keys() - request.hosts:
                del self.by_host[gone]
        reports = []
        for span in request.spans:
            rows = [window_stats(host, window, span, request.now) for host, window in self.by_host.items()]
            reports.append(Report(request.now, span, tuple(row for row in rows if row.checks)))
        return reports


def window_reports(
    requests: Observable[ReportRequest],
    spans: tuple[float, ...],
    history: tuple[Probe, ...] = (),
) -> Callable[[Observable[Probe]], Observable[Report]]:
    """Per request, one report per span of the sites' stats over (now - span, now].

    `spans` are the windows to keep from the start (a request for a longer one
    widens them); `history` is probes of the past to start from, so the first
    reports after a restart are complete. Requests and probes must come from one
    thread at a time (the clock's), as the monitor wires them.

    Example: ``probes.pipe(window_reports(report_ticks, (120.0, 600.0)))``
    """

    def operator(source: Observable[Probe]) -> Observable[Report]:
        def factory(scheduler: abc.SchedulerBase | None) -> Observable[Report]:
            windows = SiteWindows(tuple(sorted(set(spans))))
            for probe in history:
                windows.add(probe)

            def subscribe(observer: abc.ObserverBase[Report],
                          scheduler_: abc.SchedulerBase | None = None) -> abc.DisposableBase:
                def on_request(request: ReportRequest) -> None:
                    for report in windows.report(request):
                        observer.on_next(report)

                probes = source.subscribe(windows.add, observer.on_error, observer.on_completed,
                                          scheduler=scheduler_)
                ticks = requests.subscribe(on_request, observer.on_error, scheduler=scheduler_)
                return reactivex.disposable.CompositeDisposable(probes, ticks)

            return Observable(subscribe)

        return reactivex.defer(factory)

    return operator
