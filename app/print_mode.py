"""`-p`: a monitor's reports, computed from the probes it stores, and its alerts and recoveries; probes nothing.

On start it replays the stored probes of the config's sites over the longest window, so the first
reports are complete, and shows the alerts and recoveries of that window; then it follows the probes
and transitions monitors append and runs the monitor's own report operator over the probes. A report
says how much of its window the data covers, and when no probe has been stored for a while (the monitor
stopped, say), that it is stale.
"""

from __future__ import annotations

from monitoringapp.app.config_warnings import read_config_and_warn
from monitoringapp.app.lifecycle import Hup, Lifecycle, Stopper, dispose_after_its_tick, run_until_stopped
from monitoringapp.app.options import PrintOptions
from monitoringapp.app.sites import of_site
from monitoringapp.domain.events import AlertTransition, Probe, Report
from monitoringapp.domain.sites import shown_log
from monitoringapp.domain.timefmt import epoch_seconds, format_duration
from monitoringapp.graph.readers import followed_transitions, stored_reports
from monitoringapp.sinks.console import Console
from monitoringapp.store import open_log_reader
from monitoringapp.streams.log_tail import LogNews
from monitoringapp.streams.wall_clock import WallClockScheduler


def run_print(options: PrintOptions) -> int:
    config = of_site(read_config_and_warn(options.config), options.site)
    console = Console()
    clock = WallClockScheduler()
    log = open_log_reader(options.database, options.nats)
    where = shown_log(options.database, options.nats)
    context = console.report_context
    context.stale_after = config.quiet_limit
    hosts = config.keys

    def show(item: Report | LogNews[Probe]) -> None:
        if isinstance(item, Report):
            context.stored.clock_reads(item.timestamp)  # the log is read only when it has news
            console.show_report(item)
            return
        # The probe stored last, of any site: even one older than the replayed window.
        context.stored.saw(item.latest, epoch_seconds(clock.now))
        if item.waiting is not None:
            console.info(item.waiting)
        elif item.history:
            context.data_since = item.events[0].timestamp if item.events else epoch_seconds(clock.now)
            console.info(f"replayed {len(item.events)} stored probe(s) of the past "
                         f"{format_duration(config.longest_window)} from {where}; "
                         "following it for new ones; Ctrl-C to stop")

    def show_transitions(news: LogNews[AlertTransition]) -> None:
        for transition in news.events:  # a reader that cannot read yet is said by the probes' news
            console.show_transition(transition)

    def start(lifecycle: Lifecycle) -> Stopper:
        console.on_closed = lifecycle.stop  # `-p | head`: the reader has gone
        lifecycle.stop_when(console.reader_gone)  # ... even while nothing is being written
        since = epoch_seconds(clock.now) - config.longest_window
        subscriptions = [
            stored_reports(config, log, clock).subscribe(show, lifecycle.fail),
            followed_transitions(log, clock, since, hosts).subscribe(show_transitions, lifecycle.fail),
        ]

        def stop() -> None:
            for subscription in subscriptions:
                subscription.dispose()
            dispose_after_its_tick(clock)
            log.close()

        return stop

    return run_until_stopped(start, hup=Hup.STOP)  # a terminal closed: no one reads it any more

