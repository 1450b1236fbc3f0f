"""`-a`: the stored history of alerts and recoveries as a table, then each new one as monitors append it."""

from __future__ import annotations

from monitoringapp.app.lifecycle import Hup, Lifecycle, Stopper, dispose_after_its_tick, run_until_stopped
from monitoringapp.app.options import AlertsOptions
from monitoringapp.app.sites import hosts_of_site
from monitoringapp.domain.events import AlertTransition
from monitoringapp.domain.sites import shown_log
from monitoringapp.domain.timefmt import iso_utc
from monitoringapp.graph.readers import followed_transitions
from monitoringapp.sinks.alert_table import AlertLog
from monitoringapp.sinks.console import Console
from monitoringapp.store import open_log_reader
from monitoringapp.streams.log_tail import LogNews
from monitoringapp.streams.wall_clock import WallClockScheduler


def run_notifications(options: AlertsOptions) -> int:
    console = Console()
    clock = WallClockScheduler()
    log = open_log_reader(options.database, options.nats)
    where = shown_log(options.database, options.nats)
    hosts, site = None, ""
    if options.site is not None:
        hosts, site = hosts_of_site(log, options.site, where, yet=True)
    since = options.since if options.since is not None and options.since > 0 else None
    asked = (f" of {site}" if site else "") + (f" since {iso_utc(since)}" if since is not None else " yet")
    table = AlertLog(console, f"-- following {where} for new alerts and recoveries; Ctrl-C to stop --",
                     empty=f"(no alerts or recoveries{asked})")

    def show(news: LogNews[AlertTransition]) -> None:
        if news.waiting is not None:
            console.info(news.waiting)
        else:
            table.show(news.events)

    def start(lifecycle: Lifecycle) -> Stopper:
        console.on_closed = lifecycle.stop  # `-a | head`: the reader has gone
        lifecycle.stop_when(console.reader_gone)  # ... even while nothing new comes
        subscription = followed_transitions(log, clock, options.since, hosts).subscribe(show, lifecycle.fail)

        def stop() -> None:
            subscription.dispose()
            dispose_after_its_tick(clock)
            log.close()

        return stop

    return run_until_stopped(start, hup=Hup.STOP)  # a terminal closed: no one reads it any more
