"""Windowed reports: one stream of probes and report requests in, one `Report` per requested span out."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops

from monitoringapp.domain.events import OutcomesBefore, PastChunk, Probe, ProbeBatch, Report, ReportRequest
from monitoringapp.operators.site_windows import SiteWindows
from monitoringapp.operators.typed import each_at_once

ReportEvent = Probe | ProbeBatch | ReportRequest | PastChunk | OutcomesBefore
"""What the report operator takes: a probe or a batch of them, a request, earlier probes (a restart's past, newest
first), or each site's outcomes from before every probe (read back by a restart or a reader: any time, it sets no
order)."""


def window_reports(
    spans: tuple[float, ...],
    history: Iterable[Probe] = (),
    follows_clock_steps: bool = False,
) -> Callable[[Observable[ReportEvent]], Observable[Report]]:
    """Per request, one report per span of the sites' stats over (now - span, now], counting every probe
    that came before the request in the stream.

    Probes (one at a time, or in batches) and requests come as one stream, so which came first is the stream's
    order, not a rule about threads or subscription order. `spans` are the windows to keep from the start (a request
    for a longer one widens them); `history` is probes of the past to start from. A restart's longer past may come
    in the stream too, as `PastChunk`s from before everything given so far (newest first): each site's windows take
    them in front, and the reports after them count them. An `OutcomesBefore` in the stream is each site's last
    failure and failing run from before all of those probes: a report's "down for" and "last fail" reach back as far
    as the log does, not only as far as the probes given. `follows_clock_steps`: the probes are one monitor's own,
    whose windows move back with a step back of its wall clock (see `SlidingWindow`).

    ```text
    events:  --p1--p2--R(t=10, 2m)--p3--R(t=20, 2m)--|
             [window_reports((120.0,))]
    out:     ----------Report(2m: p1,p2)-------Report(2m: p1,p2,p3)--|
    ```

    Example:

    >>> import reactivex
    >>> from monitoringapp.domain.events import Probe, ReportRequest
    >>> events = [Probe(1.0, "http://a/", True, 200, 4.0), Probe(2.0, "http://a/", False, 503, 6.0),
    ...           ReportRequest(10.0, (120.0,))]
    >>> reactivex.from_iterable(events).pipe(window_reports((120.0,))).subscribe(
    ...     lambda report: print(report.span, [(row.host, row.checks, row.available) for row in report.rows]))
    120.0 [('http://a/', 2, 1)]
    <...>
    """

    def operator(source: Observable[ReportEvent]) -> Observable[Report]:
        def factory(_: abc.SchedulerBase | None) -> Observable[Report]:
            windows = SiteWindows(tuple(sorted(set(spans))), follows_clock_steps)
            for probe in history:
                windows.add(probe)
            answers: Observable[list[Report]] = source.pipe(ops.map(windows.on_event), ops.filter(bool))
            return answers.pipe(ops.flat_map(each_at_once))  # a request's reports go out before the next event

        return reactivex.defer(factory)

    return operator
