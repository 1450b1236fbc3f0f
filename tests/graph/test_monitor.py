"""The monitoring graph in virtual time: a reload applied as a diff, a reloaded policy from the next probe."""

from __future__ import annotations

import sqlite3
from array import array
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from reactivex.scheduler import HistoricalScheduler, ImmediateScheduler
from reactivex.subject import Subject
from reactivex.testing import TestScheduler

from monitoringapp.domain.config import AlertPolicy, Config, ReportSpec, SiteConfig
from monitoringapp.domain.events import PastChunk, Probe, Report, TransitionKind
from monitoringapp.domain.timefmt import epoch_seconds, parse_iso, utc_datetime
from monitoringapp.graph.monitor import MonitorGraph, StoredPast, load_past
from monitoringapp.store.sqlite.reader import SqliteLogReader
from monitoringapp.store.sqlite.writer import SqliteEventLog
from monitoringapp.streams.http_probe import ProbeOutcome
from monitoringapp.streams.probes import ConfigChange
from tests.gap_outage import write_gap_outage
from tests.graph.running import RunningMonitor

A, B, C, D = (f"http://{name}.test/" for name in "abcd")


def config(*sites: SiteConfig) -> Config:
    return Config(sites=sites, alert=AlertPolicy(window=10), reports=(ReportSpec(60, (60,)),))


def test_reload_is_a_diff_untouched_site_keeps_its_rhythm_retimed_site_keeps_its_alert(tmp_path: Path) -> None:
    clock = TestScheduler()
    b_up_from = 11.0  # B fails until the reload, then answers

    def probe(site: SiteConfig) -> ProbeOutcome:
        up = site.url != B or clock.clock >= b_up_from
        return ProbeOutcome(200 if up else 500, 1.0, None)

    monitor = RunningMonitor(config(SiteConfig(A, 2, 1), SiteConfig(B, 2, 1), SiteConfig(D, 2, 1)),
                             SqliteEventLog(tmp_path / "m.db", flush_interval=0.05), probe, clock)
    clock.schedule_absolute(0, lambda *_: monitor.start())
    clock.schedule_absolute(11, lambda *_: monitor.reload(
        config(SiteConfig(A, 2, 1), SiteConfig(B, 5, 1), SiteConfig(C, 2, 1))))
    clock.advance_to(25)
    monitor.stop()
    transitions = monitor.transitions

    rows = sqlite3.connect(tmp_path / "m.db").execute("SELECT host, timestamp FROM website_monitoring").fetchall()
    times = {site: sorted(parse_iso(ts) for host, ts in rows if host == site) for site in (A, B, C, D)}
    assert times[A] == [float(t) for t in range(0, 26, 2)], "untouched: no gap, no extra tick at the reload"
    assert times[B] == [0, 2, 4, 6, 8, 10, 11, 16, 21], "re-timed from 2 s to 5 s at the reload"
    assert times[C] == [11, 13, 15, 17, 19, 21, 23, 25], "added: starts at the reload"
    assert times[D] == [0, 2, 4, 6, 8, 10], "removed: stops at the reload"
    # B's window and alert survived the re-timing: no second alert at 11, and the recovery
    # closes the outage raised at 0 once (11, 21] holds only successes.
    assert [(t.host, t.kind, t.timestamp, t.start) for t in transitions] == [
        (B, TransitionKind.ALERT, 0, 0), (B, TransitionKind.RECOVERY, 21, 0)]
    assert monitor.changes == [ConfigChange(added=(C,), removed=(D,), retimed=(B,), changed=((B, ("checkInterval",)),))]


def test_reloaded_alert_threshold_applies_from_the_next_probe(tmp_path: Path) -> None:
    clock = TestScheduler()
    ups = iter([True, True, True, False] + [True] * 100)  # 3 of 4 = 75 % at t=6

    def probe(site: SiteConfig) -> ProbeOutcome:
        return ProbeOutcome(200 if next(ups) else 500, 1.0, None)

    monitor = RunningMonitor(config(SiteConfig(A, 2, 1)), SqliteEventLog(tmp_path / "m.db"), probe, clock)
    clock.schedule_absolute(0, lambda *_: monitor.start())
    stricter = Config(sites=(SiteConfig(A, 2, 1),), alert=AlertPolicy(window=10, threshold=0.5,
                                                                        recovery_threshold=0.5))
    clock.schedule_absolute(5, lambda *_: monitor.reload(stricter))
    clock.advance_to(12)
    monitor.stop()
    assert monitor.transitions == [], "75 % is below the old 80 % but not below the reloaded 50 %"


def test_a_restart_reads_the_alert_window_first_and_the_rest_of_the_hour_while_it_runs(tmp_path: Path) -> None:
    """The report windows get the hour before the restart chunk by chunk while the clocks tick, and report what
    a monitor that had read it all before starting would: to the last digit."""
    start = 1_795_000_000.0
    db = tmp_path / "m.db"
    setup = SqliteEventLog(db, flush_interval=30.0)
    for second in range(3600, 0, -1):
        for n, site in enumerate((A, B)):
            up = (second + n) % 9 != 0
            setup.append_probe(Probe(start - second, site, up, 200 if up else 503, 0.25 * (second % 40)))
    setup.close()
    config = Config(sites=(SiteConfig(A, 1, 1), SiteConfig(B, 1, 1)), alert=AlertPolicy(window=20),
                    reports=(ReportSpec(30, (120, 3600)),))

    def run(past: StoredPast) -> tuple[list[Report], list[PastChunk]]:
        clock = HistoricalScheduler(utc_datetime(start))

        def probe(site: SiteConfig) -> ProbeOutcome:
            return ProbeOutcome(200 if int(epoch_seconds(clock.now)) % 4 else 500, 2.0, None)

        monitor = RunningMonitor(config, SqliteEventLog(tmp_path / f"{len(runs)}.db"), probe, clock, past=past)
        loaded: list[PastChunk] = []
        monitor.graph.past_loaded.subscribe(loaded.append)
        clock.schedule(lambda *_: monitor.start())
        clock.advance_by(timedelta(seconds=61))
        monitor.stop()
        return monitor.reports, loaded

    runs: list[object] = []
    reader = SqliteLogReader(db)
    past = load_past(reader, config, start)
    assert past.earlier is not None and len(past.probes) == 2 * 19  # (start - 20, start): read before the start
    streamed, loaded = run(replace(past, earlier=replace(past.earlier, rows=1000)))
    runs.append(streamed)
    everything = reader.probes_since(start - 3600, {A, B}).events
    read_first, _ = run(StoredPast(tuple(everything), reader.last_transitions()))
    reader.close()
    assert len(loaded) > 1 and loaded[-1].probes == 2 * (3600 - 20)  # (start - 3600, start - 20]
    assert [report.span for report in streamed] == [120, 3600, 120, 3600]
    assert streamed == read_first
    assert all(row.checks > 3000 for report in streamed if report.span == 3600 for row in report.rows)


def test_a_new_log_has_no_earlier_past_to_read_and_an_old_one_beyond_the_longest_window_neither(
        tmp_path: Path) -> None:
    start = 1_795_000_000.0
    config = Config(sites=(SiteConfig(A, 1, 1),), alert=AlertPolicy(window=20), reports=(ReportSpec(30, (3600,)),))
    log = SqliteEventLog(tmp_path / "m.db")
    try:
        assert load_past(log, config, start).earlier is None  # nothing stored yet
        log.append_probe(Probe(start - 7200, A, True, 200, 1.0))  # two hours ago: before the longest window
        log.close()
        reader = SqliteLogReader(tmp_path / "m.db")
        assert load_past(reader, config, start).earlier is None
        assert load_past(reader, config, start - 4800).earlier is not None  # forty minutes after it: in the hour
        reader.close()
    finally:
        log.close()


def test_a_restart_after_a_gap_says_down_for_and_last_fail_from_before_the_loaded_hour(tmp_path: Path) -> None:
    """A stopped for 2 h in the middle of an outage that began 2h30m ago (the log's last success is 3 h ago), and
    still down; B up since a failure 2 h ago. A monitor that never stopped would say, from the same probes:
    A down since 2h30m ago (the gap says nothing of A), B's last failure 2 h ago; the loaded hour alone says
    neither."""
    start = 1_795_000_000.0
    db = tmp_path / "m.db"
    write_gap_outage(db, start, A, B)
    config = Config(sites=(SiteConfig(A, 1, 1), SiteConfig(B, 1, 1)), alert=AlertPolicy(window=20),
                    reports=(ReportSpec(30, (120, 3600)),))
    clock = HistoricalScheduler(utc_datetime(start))

    def probe(site: SiteConfig) -> ProbeOutcome:
        return ProbeOutcome(503 if site.url == A else 200, 2.0, None)

    reader = SqliteLogReader(db)
    past = load_past(reader, config, start)
    monitor = RunningMonitor(config, SqliteEventLog(tmp_path / "new.db"), probe, clock, past=past)
    clock.schedule(lambda *_: monitor.start())
    clock.advance_by(timedelta(seconds=61))
    monitor.stop()
    reader.close()
    figures = [(report.timestamp - start, report.span, row.host, row.current_downtime, row.since_last_failure)
               for report in monitor.reports for row in report.rows]
    assert figures == [
        (30, 120, A, 2.5 * 3600 + 30, 1), (30, 120, B, None, 2 * 3600 + 30),
        (30, 3600, A, 2.5 * 3600 + 30, 1), (30, 3600, B, None, 2 * 3600 + 30),
        (60, 120, A, 2.5 * 3600 + 60, 1), (60, 120, B, None, 2 * 3600 + 60),
        (60, 3600, A, 2.5 * 3600 + 60, 1), (60, 3600, B, None, 2 * 3600 + 60)]


def test_the_graph_keeps_each_ticks_lateness_only_when_asked_as_for_metrics() -> None:
    def probe(site: SiteConfig) -> ProbeOutcome:
        return ProbeOutcome(200, 1.0, None)

    kept = {}
    for asked in (False, True):
        clock = TestScheduler()
        graph = MonitorGraph(config(SiteConfig(A, 2, 1), SiteConfig(B, 2, 1)), Subject(), probe, clock,
                             ImmediateScheduler(), tick_lateness=asked)
        connection = graph.connect()
        clock.advance_to(9)
        connection.dispose()
        kept[asked] = (graph.counters.ticks, graph.counters.lateness)
    assert kept == {False: (10, None), True: (10, array("d", [0.0] * 10))}
