"""Print-only mode: for the same stored probes, the same reports as the monitor, to the last digit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from reactivex.scheduler import HistoricalScheduler, ImmediateScheduler

from app.monitor import Monitor, load_past
from app.print_mode import stored_reports
from domain.config import parse_config
from domain.events import AlertTransition, Report
from domain.timefmt import epoch_seconds, iso_utc, parse_iso
from operators.stats import window_stats
from operators.window import SlidingWindow
from sinks.console import report_lines
from sinks.sqlite_sink import SqliteEventStore
from store.schema import PROBE_COLUMNS, connect, probe_from_row
from streams.http_probe import HttpProber, ProbeOutcome
from tests.app.readers_session import readers_session
from tests.local_http import LocalServer
from tests.processes import wait_until

# A start with microseconds, as a real clock gives, and a check interval that never lands on a report time.
START = datetime(2026, 11, 25, 9, 0, 0, 123457, tzinfo=UTC)


def run_monitor(server: LocalServer, db: Path, clock: HistoricalScheduler, seconds: int,
                print_reports: list[Report] | None = None, down: range = range(0)) -> list[Report]:
    """Run a monitor (restored from `db`) for `seconds` of virtual time; its reports. With `print_reports`,
    a print-only reader of `db` runs alongside on the same clock and its reports go there."""
    config = parse_config(json.dumps({
        "websites": [{"URL": server.url("/health"), "checkInterval": 0.37, "timeout": 2}],
        "alertWindow": 3, "reports": [{"every": 1, "windows": [5, 3600]}]}))
    store = SqliteEventStore(db, flush_interval=0.005)
    prober = HttpProber(pool_size=1)
    probes = 0

    def probe(url: str, timeout: float) -> ProbeOutcome:
        nonlocal probes
        probes += 1
        return prober.probe(url, timeout)

    reports: list[Report] = []
    transitions: list[AlertTransition] = []
    past = load_past(db, config, epoch_seconds(clock.now))
    monitor = Monitor(config, store, probe, clock, ImmediateScheduler(), past=past,
                      on_transition=transitions.append, on_report=reports.append)
    reader = None
    if print_reports is not None:
        reader = stored_reports(config, db, clock).subscribe(print_reports.append)
    monitor.start()
    begin = clock.now
    for second in range(1, seconds + 1):
        server.healthy = second not in down
        # Up to just before the report due at `second`, then let the store commit what came so far.
        clock.advance_to(begin + timedelta(seconds=second - 0.001))
        wait_until(lambda: store.rows_written >= probes + len(transitions), timeout=3, step=0.001)
    clock.advance_to(begin + timedelta(seconds=seconds))
    monitor.stop()
    prober.close()
    if reader is not None:
        reader.dispose()
    return reports


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
    # The report polls the store before it is made, not only at the 0.25 s poll ticks.
    db = tmp_path / "m.db"
    clock = HistoricalScheduler(START)
    printed: list[Report] = []
    monitored = run_monitor(server, db, clock, 3, printed)
    assert [r.rows[0].checks for r in printed if r.span == 5] == [3, 6, 9]
    assert printed == monitored


def test_print_mode_process_prints_the_numbers_computed_from_the_stored_rows() -> None:
    session = readers_session()
    connection = connect(session.db, readonly=True)
    probes = [probe_from_row(row) for row in connection.execute(
        f"SELECT {PROBE_COLUMNS} FROM website_monitoring WHERE host = ? ORDER BY rowid", (session.site,))]
    lines = [text for _, text in session.printer.lines]
    titles = [i for i, text in enumerate(lines) if text.startswith("== past 5s at ")]
    # Reports made after the monitor's last commit: every row they count is in the store now.
    settled = [i for i in titles if parse_iso(lines[i].split()[4]) > session.last_probe_commit + 0.3]
    assert len(settled) >= 2, "\n".join(lines)
    window = SlidingWindow((5.0,))
    for probe in probes:
        window.add(probe)
    for i in settled:
        title, printed = lines[i], lines[i + 1:i + 3]
        shown_at = parse_iso(title.split()[4])  # to the ms: the report's own time is within 0.5 ms of it
        candidates = [report_lines(Report(at, 5.0, (window_stats(session.site, window, 5.0, at),)))[1:]
                      for at in (shown_at - 0.0004, shown_at, shown_at + 0.0004)]
        assert printed in candidates, f"{title}\n{printed}\n{candidates}"
        low, high = iso_utc(shown_at - 5), iso_utc(shown_at)
        counted = connection.execute("SELECT count(*) FROM website_monitoring WHERE timestamp > ? "
                                     "AND timestamp <= ?", (low, high)).fetchone()[0]
        assert printed[1].split()[1] == str(counted) and counted > 0
    connection.close()
