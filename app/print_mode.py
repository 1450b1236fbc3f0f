"""`-p`: a monitor's reports, computed from the probes it stores; probes nothing itself.

On start it replays the stored probes of the config's sites over the longest
window, so the first reports are complete; then it follows the probes monitors
append and runs the monitor's own report operator over them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.scheduler import EventLoopScheduler, ImmediateScheduler

from app.monitor import report_requests
from app.notification_mode import run_until_stopped
from domain.config import Config
from domain.events import Probe, Report, ReportRequest
from domain.timefmt import epoch_seconds, format_duration
from operators.reports import window_reports
from sinks.console import Console
from streams.stored_log import probes_after, recent_probes
from streams.stored_tail import POLL_INTERVAL, LogFeed, follow_log


def run_print(config: Config, db_path: str) -> int:
    console = Console()
    clock = EventLoopScheduler()
    path = Path(db_path)

    def replayed(count: int) -> None:
        console.info(f"replayed {count} stored probe(s) of the past {format_duration(config.longest_window)} "
                     f"from {path}; following it for new ones; Ctrl-C to stop")

    reports = stored_reports(config, path, clock, notice=console.info, on_history=replayed)
    return run_until_stopped(reports, console.show_report, clock, console)


def stored_reports(
    config: Config,
    path: str | Path,
    clock: abc.SchedulerBase,
    poll_interval: float = POLL_INTERVAL,
    notice: Callable[[str], None] | None = None,
    on_history: Callable[[int], None] | None = None,
) -> Observable[Report]:
    """The reports a monitor of `config` makes, from the probes stored at `path`, on `clock`.

    Report requests are the monitor's (`report_requests`); each one first polls
    the store, so a report counts every probe committed before it was due.
    """
    hosts = {site.url for site in config.sites}

    def history(connection: sqlite3.Connection) -> tuple[Probe, ...]:
        probes = recent_probes(connection, epoch_seconds(clock.now) - config.longest_window, hosts)
        if on_history is not None:
            on_history(len(probes))
        return probes

    def after(connection: sqlite3.Connection, rowid: int) -> tuple[Probe, ...]:
        return probes_after(connection, rowid, hosts)

    # Shared so that the store is polled before the report operator hears of the request:
    # window_reports subscribes its probes (and so the tail and its wake) before its requests.
    requests: Observable[ReportRequest] = report_requests(config, clock).pipe(ops.share())
    batches = follow_log(LogFeed("website_monitoring", history, after), path, clock, poll_interval,
                         wake=requests, notice=notice)
    probes: Observable[Probe] = batches.pipe(ops.flat_map(_each_now))
    return probes.pipe(window_reports(requests, config.report_windows))


def _each_now(batch: tuple[Probe, ...]) -> Observable[Probe]:
    # Immediate, not the default trampoline: the probes must be in before the request that woke the poll.
    return reactivex.from_iterable(batch, ImmediateScheduler.singleton())
