"""The readers' graphs: the log followed (`-a`), and a monitor's reports computed from its stored probes (`-p`).

Both read through `LogReader` with a cursor, so they work on any backend and never write.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TypeGuard

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops

from monitoringapp.domain.config import Config
from monitoringapp.domain.events import AlertTransition, OutcomesBefore, Probe, Report, ReportRequest
from monitoringapp.domain.timefmt import epoch_seconds
from monitoringapp.graph.monitor import report_requests
from monitoringapp.operators.reports import ReportEvent, window_reports
from monitoringapp.operators.typed import each_at_once, keep
from monitoringapp.store.log import LogReader, Page
from monitoringapp.streams.log_follow import Polled, follow_log
from monitoringapp.streams.log_tail import LogNews, LogTail
from monitoringapp.streams.ticks import Tick, fixed_rate_ticks

POLL_INTERVAL = 0.25


def followed_transitions(
    log: LogReader,
    clock: abc.SchedulerBase,
    since: float | None = None,
    hosts: Collection[str] | None = None,
    poll_interval: float = POLL_INTERVAL,
) -> Observable[LogNews[AlertTransition]]:
    """The stored transitions from `since` on (of `hosts` only, when given) as the history, then every
    `poll_interval` seconds those appended since; or why the log cannot be read yet.

    Example: ``followed_transitions(open_log_reader("m.db"), EventLoopScheduler(), since=time.time() - 7200)``
    """

    def open_tail() -> LogTail[AlertTransition]:
        return LogTail(lambda: log.transitions_since(since, hosts),
                       lambda cursor: log.transitions_after(cursor, hosts))

    polled: Observable[Polled[Tick, AlertTransition]] = fixed_rate_ticks(poll_interval, clock).pipe(
        follow_log(open_tail))
    news: Observable[LogNews[AlertTransition] | None] = polled.pipe(ops.map(_transition_news))
    return news.pipe(keep(_is_news))


def stored_reports(
    config: Config,
    log: LogReader,
    clock: abc.SchedulerBase,
    poll_interval: float = POLL_INTERVAL,
) -> Observable[Report | LogNews[Probe]]:
    """The reports a monitor of `config` makes, from the probes stored in `log`, on `clock`; and the log's
    news: the history replayed, why it waits, and each poll's new probes (how fresh the store is).

    The history is the config's sites' probes over its longest window, so the first reports are complete, and
    ahead of them what the log holds from before (`OutcomesBefore`), so "down for" and "last fail" are a
    monitor's that never stopped.
    Report requests are the monitor's (`report_requests`); each one polls the log before it reaches the
    report operator, so a report counts every probe committed before it was due.
    """
    hosts = config.keys

    def history() -> Page[Probe | OutcomesBefore]:
        since = epoch_seconds(clock.now) - config.longest_window
        probes = log.probes_since(since, hosts)
        before = OutcomesBefore(since, tuple(log.last_outcomes(since, hosts).values()))
        return Page((before, *probes.events), probes.cursor)

    def open_tail() -> LogTail[Probe | OutcomesBefore]:
        return LogTail(history, lambda cursor: log.probes_after(cursor, hosts))

    def probes_then_request(polled: Polled[Tick | ReportRequest, Probe | OutcomesBefore],
                            ) -> Observable[ReportEvent]:
        trigger, news = polled
        events: list[ReportEvent] = []
        if news is not None:
            events.extend(event for event in news.events if isinstance(event, OutcomesBefore))
            probes = tuple(event for event in news.events if isinstance(event, Probe))
            if probes:
                events.append(probes)  # one batch: a history of an hour of every site goes in at once
        if isinstance(trigger, ReportRequest):
            events.append(trigger)
        return each_at_once(events)  # the probes are in before the request that polled them

    def reports_and_news(polled: Observable[Polled[Tick | ReportRequest, Probe | OutcomesBefore]],
                         ) -> Observable[Report | LogNews[Probe]]:
        polled_news: Observable[LogNews[Probe] | None] = polled.pipe(ops.map(_probe_news))
        news: Observable[LogNews[Probe]] = polled_news.pipe(keep(_is_probe_news))
        reports: Observable[Report] = polled.pipe(ops.flat_map(probes_then_request),
                                                  window_reports(config.report_windows))
        return reactivex.merge(news, reports)  # news first: "replayed ..." comes before the first report

    triggers: Observable[Tick | ReportRequest] = reactivex.merge(fixed_rate_ticks(poll_interval, clock),
                                                                 report_requests(config, clock))
    polled: Observable[Polled[Tick | ReportRequest, Probe | OutcomesBefore]] = triggers.pipe(follow_log(open_tail))
    return polled.pipe(ops.publish(reports_and_news))


def _transition_news(polled: Polled[Tick, AlertTransition]) -> LogNews[AlertTransition] | None:
    return polled[1]


def _probe_news(polled: Polled[Tick | ReportRequest, Probe | OutcomesBefore]) -> LogNews[Probe] | None:
    news = polled[1]
    if news is None:
        return None
    probes = tuple(event for event in news.events if isinstance(event, Probe))
    return LogNews(probes, news.history, news.waiting, news.latest)


def _is_news(news: LogNews[AlertTransition] | None) -> TypeGuard[LogNews[AlertTransition]]:
    return news is not None


def _is_probe_news(news: LogNews[Probe] | None) -> TypeGuard[LogNews[Probe]]:
    return news is not None
