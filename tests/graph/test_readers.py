"""The readers' graphs in virtual time: for the same stored probes, print-only makes the monitor's reports to the
last digit, after a restart and while following."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeGuard

from reactivex.scheduler import HistoricalScheduler

from bench.processes import wait_until
from monitoringapp.domain.config import SiteConfig, parse_config
from monitoringapp.domain.events import Probe, Report
from monitoringapp.domain.timefmt import epoch_seconds
from monitoringapp.graph.monitor import load_past
from monitoringapp.graph.readers import stored_reports
from monitoringapp.operators.typed import keep
from monitoringapp.sinks.console import report_lines
from monitoringapp.store.sqlite.reader import SqliteLogReader
from monitoringapp.store.sqlite.writer import SqliteEventLog
from monitoringapp.streams.http_probe import HttpProber, ProbeOutcome
from monitoringapp.streams.log_tail import LogNews
from tests.gap_outage import write_gap_outage
from tests.graph.running import RunningMonitor
from tests.local_http import LocalServer


def is_report(item: Report | LogNews[Probe]) -> TypeGuard[Report]:
    return isinstance(item, Report)


A, B = "http://a.test/", "http://b.test/"
# A start with microseconds, as a real clock gives, and a check interval that never lands on a report time.
START = datetime(2026, 11, 25, 9, 0, 0, 123457, tzinfo=UTC)


def run_monitor(server: LocalServer, db: Path, clock: HistoricalScheduler, seconds: int,
                print_reports: list[Report] | None = None, down: range = range(0)) -> list[Report]:
    """Run a monitor (restored from `db`) for `seconds` of virtual time; its reports. With `print_reports`,
    a print-only reader of `db` runs alongside on the same clock and its reports go there."""
    config = parse_config(json.dumps({
        "websites": [{"URL": server.url("/health"), "checkInterval": 0.37, "timeout": 2}],
        "alertWindow": 3, "reports": [{"every": 1, "windows": [5, 3600]}]}))
    log = SqliteEventLog(db, flush_interval=0.005)
    prober = HttpProber(pool_size=1)
    probes = 0

    def probe(site: SiteConfig) -> ProbeOutcome:
        nonlocal probes
        probes += 1
        return prober.check(site)

    past = load_past(log, config, epoch_seconds(clock.now))
    monitor = RunningMonitor(config, log, probe, clock, past=past)
    reader = None
    if print_reports is not None:
        printed = stored_reports(config, SqliteLogReader(db), clock).pipe(keep(is_report))
        reader = printed.subscribe(print_reports.append)
    monitor.start()
    begin = clock.now
    for second in range(1, seconds + 1):
        server.healthy = second not in down
        # Up to just before the report due at `second`, then let the store commit what came so far.
        clock.advance_to(begin + timedelta(seconds=second - 0.001))
        wait_until(lambda: log.rows_written >= probes + len(monitor.transitions), timeout=3, step=0.001)
    clock.advance_to(begin + timedelta(seconds=seconds))
    monitor.stop()
    prober.close()
    if reader is not None:
        reader.dispose()
    return monitor.reports


def test_print_mode_reports_equal_the_monitors_after_a_restart_and_while_following(tmp_path: Path,
                                                                                   server: LocalServer) -> None:
    db = tmp_path / "m.db"
    clock = HistoricalScheduler(START)
    run_monitor(server, db, clock, 12, down=range(6, 9))  # the past a restart replays
    printed: list[Report] = []
    monitored = run_monitor(server, db, clock, 16, printed, down=range(3, 8))
    assert len(monitored) == 2 * 16
    assert printed == monitored
    assert [report_lines(r) for r in printed] == [report_lines(r) for r in monitored]
    # Not vacuous: the replayed past is in the long window, and the outage shows in both.
    hour = [r for r in printed if r.span == 3600]
    assert hour[0].rows[0].checks > 12 / 0.37
    assert min(r.rows[0].availability or 1.0 for r in printed) < 0.5
    assert any(r.rows[0].current_downtime for r in printed)


def test_print_mode_counts_a_probe_committed_just_before_the_report(tmp_path: Path, server: LocalServer) -> None:
    # The report polls the log before it is made, not only at the 0.25 s poll ticks.
    db = tmp_path / "m.db"
    clock = HistoricalScheduler(START)
    printed: list[Report] = []
    monitored = run_monitor(server, db, clock, 3, printed)
    assert [r.rows[0].checks for r in printed if r.span == 5] == [3, 6, 9]
    assert printed == monitored


def test_print_mode_says_down_for_and_last_fail_from_before_the_hour_it_replays(tmp_path: Path) -> None:
    """A down since 2h30m ago with a gap in its probes (no monitor ran) and probed again in the last minute; B's
    last failure 2 h ago: -p says what a monitor that never stopped would, not what the replayed hour alone says."""
    began = START.replace(microsecond=0)  # whole seconds: the store keeps milliseconds
    start = epoch_seconds(began)
    write_gap_outage(tmp_path / "m.db", start, A, B, recent=range(60, -1, -10))
    config = parse_config(json.dumps({"websites": [{"URL": A}, {"URL": B}],
                                      "reports": [{"every": 30, "windows": [120, 3600]}]}))
    clock = HistoricalScheduler(began)
    reports: list[Report] = []
    reader = SqliteLogReader(tmp_path / "m.db")
    subscription = stored_reports(config, reader, clock).pipe(keep(is_report)).subscribe(reports.append)
    clock.advance_by(timedelta(seconds=30))
    subscription.dispose()
    reader.close()
    assert [(r.span, row.host, row.current_downtime, row.since_last_failure) for r in reports for row in r.rows] == [
        (120, A, 2.5 * 3600 + 30, 30), (120, B, None, 2 * 3600 + 30),
        (3600, A, 2.5 * 3600 + 30, 30), (3600, B, None, 2 * 3600 + 30)]
