"""Every site's sliding windows, answering report requests (no reactivex here: `operators.reports` wraps it)."""

from __future__ import annotations

from collections.abc import Iterable

from monitoringapp.domain.events import (
    LastOutcomes,
    OutcomesBefore,
    PastChunk,
    Probe,
    ProbeBatch,
    ProbeColumns,
    Report,
    ReportRequest,
)
from monitoringapp.operators.stats import window_stats
from monitoringapp.operators.window import SlidingWindow


class SiteWindows:
    """The sliding windows of every site seen, keyed by host."""

    __slots__ = ("by_host", "follows_clock_steps", "spans")

    def __init__(self, spans: tuple[float, ...], follows_clock_steps: bool = False) -> None:
        self.spans = spans
        self.follows_clock_steps = follows_clock_steps  # see `SlidingWindow`
        self.by_host: dict[str, SlidingWindow] = {}

    def on_event(self, event: Probe | ProbeBatch | ReportRequest | PastChunk | OutcomesBefore) -> list[Report]:
        """Take a probe or a batch of them, earlier probes or what came before them (no reports), or answer a
        request (one report per span)."""
        if isinstance(event, ReportRequest):
            return self.report(event)
        if not self.spans:
            return []  # no report asked for (`"reports": []`): nothing to keep; a request's spans start them
        if isinstance(event, Probe):
            self.add(event)
            return []
        if isinstance(event, tuple):
            self.add_all(event)
            return []
        if isinstance(event, OutcomesBefore):
            self.start_after(event.sites)
            return []
        self.add_earlier(event.sites)
        return []

    def add(self, probe: Probe) -> None:
        if not self.spans:
            return
        window = self.by_host.get(probe.host)
        if window is None:
            window = self._window(probe.host)
        window.add(probe)

    def add_all(self, probes: ProbeBatch) -> None:
        by_host = self.by_host
        for probe in probes:  # `add`, inlined: this is the loop a busy monitor spends its operator time in
            window = by_host.get(probe.host)
            if window is None:
                window = self._window(probe.host)
            window.add(probe)

    def _window(self, host: str) -> SlidingWindow:
        window = self.by_host.get(host)
        if window is None:
            window = self.by_host[host] = SlidingWindow(self.spans, lazy=True,  # stats advance first
                                                        follows_clock_steps=self.follows_clock_steps)
        return window

    def start_after(self, sites: Iterable[LastOutcomes]) -> None:
        """What the log holds from before every probe given, per site: its last failure and failing run."""
        for outcomes in sites:
            self._window(outcomes.host).start_after(outcomes)

    def add_earlier(self, sites: Iterable[ProbeColumns]) -> None:
        """Probes from before all those given so far (a restart's past, newest first), per site."""
        for probes in sites:
            self._window(probes.host).add_earlier(probes)

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
            reports.append(Report(request.now, span, tuple([row for row in rows if row.checks])))
        return reports
