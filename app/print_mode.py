"""`-p`: a monitor's reports, computed from the probes it stores; probes nothing itself.

On start it replays the stored probes of the config's sites over the longest window, so the first
reports are complete; then it follows the probes monitors append and runs the monitor's own report
operator over them.
"""

from __future__ import annotations

from reactivex.scheduler import EventLoopScheduler

from monitoringapp.app.config_warnings import read_config_and_warn
from monitoringapp.app.lifecycle import Lifecycle, Stopper, run_until_stopped
from monitoringapp.app.options import PrintOptions
from monitoringapp.domain.events import Probe, Report
from monitoringapp.domain.timefmt import format_duration
from monitoringapp.graph.readers import stored_reports
from monitoringapp.sinks.console import Console
from monitoringapp.store import open_log_reader
from monitoringapp.streams.log_tail import LogNews


def run_print(options: PrintOptions) -> int:
    config = read_config_and_warn(options.config)
    console = Console()
    clock = EventLoopScheduler()
    log = open_log_reader(options.database)

    def show(item: Report | LogNews[Probe]) -> None:
        if isinstance(item, Report):
            console.show_report(item)
        elif item.waiting is not None:
            console.info(item.waiting)
        else:
            console.info(f"replayed {len(item.events)} stored probe(s) of the past "
                         f"{format_duration(config.longest_window)} from {options.database}; "
                         "following it for new ones; Ctrl-C to stop")

    def start(lifecycle: Lifecycle) -> Stopper:
        console.on_closed = lifecycle.stop  # `-p | head`: the reader has gone
        lifecycle.stop_when(console.reader_gone)  # ... even while nothing is being written
        subscription = stored_reports(config, log, clock).subscribe(show, lifecycle.fail)

        def stop() -> None:
            subscription.dispose()
            clock.dispose()
            log.close()

        return stop

    return run_until_stopped(start)
