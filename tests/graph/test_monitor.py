"""The monitoring graph in virtual time: a reload applied as a diff, a reloaded policy from the next probe."""

from __future__ import annotations

import json
import sqlite3
from array import array
from collections.abc import Collection
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from reactivex.scheduler import HistoricalScheduler, ImmediateScheduler
from reactivex.subject import Subject
from reactivex.testing import TestScheduler

from monitoringapp.domain.config import AlertPolicy, Config, ReportSpec, SiteConfig, parse_config
from monitoringapp.domain.events import AlertTransition, ErrorKind, PastChunk, Probe, Report, TransitionKind
from monitoringapp.domain.timefmt import epoch_seconds, parse_iso, utc_datetime
from monitoringapp.graph.monitor import (
    ALL_READ,
    MonitorGraph,
    ProbesWaitingForTheirPast,
    StatesRead,
    StoredPast,
    load_past,
)
from monitoringapp.operators.alert_machine import AlertStates
from monitoringapp.operators.certificate_watch import DAY, WarningsTold
from monitoringapp.store.log import Page
from monitoringapp.store.sqlite.reader import SqliteLogReader
from monitoringapp.store.sqlite.writer import SqliteEventLog
from monitoringapp.streams.http_probe import ProbeOutcome
from monitoringapp.streams.probes import ConfigChange
from tests.gap_outage import write_gap_outage
from tests.graph.running import RunningMonitor

A, B, C, D = (f"http://{name}.test/" for name in "abcd")
E = "https://e.test/"


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


def test_a_reload_names_every_setting_it_changes_those_of_other_modes_too_and_a_new_order_of_the_sites(
        tmp_path: Path) -> None:
    """An edit of the notifications, the maintenance or rollupRetention (which -m applies) was said as "config
    reloaded: sites and settings unchanged", as was a new order of the sites: read as an edit the monitor missed."""
    clock = TestScheduler()
    before = config(SiteConfig(A, 2, 1), SiteConfig(B, 2, 1))
    hook = parse_config(json.dumps({"websites": [{"URL": A}], "notifications": [{"url": "http://127.0.0.1:9/"}],
                                    "maintenance": [{"weekly": "sun 03:00-03:30"}]}))
    monitor = RunningMonitor(before, SqliteEventLog(tmp_path / "m.db"), lambda _: ProbeOutcome(200, 1.0, None), clock)
    clock.schedule_absolute(0, lambda *_: monitor.start())
    clock.schedule_absolute(1, lambda *_: monitor.reload(replace(before, sites=before.sites[::-1])))
    clock.schedule_absolute(2, lambda *_: monitor.reload(replace(before, notifications=hook.notifications,
                                                                 maintenance=hook.maintenance)))
    clock.schedule_absolute(3, lambda *_: monitor.reload(replace(before, notifications=hook.notifications,
                                                                 maintenance=hook.maintenance, rollup_retention=86400)))
    clock.advance_to(4)
    monitor.stop()
    assert [change.summary() for change in monitor.changes] == [
        "sites reordered", "sites reordered; notifications, maintenance changed",
        "sites unchanged; rollupRetention changed"]


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


def test_a_probe_in_flight_as_a_reload_removes_its_site_lands_stored_but_judged_by_no_machine(tmp_path: Path) -> None:
    """B fails; its probe of 0 s is still in flight when the reload of 1 s removes it, and lands at 2 s (the io
    scheduler runs only then). It is stored as it was made, but raises no alert: before, B was told down after the
    line that said it was removed, its alert left open for good (and reminded of by a notifier)."""
    clock, io = TestScheduler(), TestScheduler()

    def probe(site: SiteConfig) -> ProbeOutcome:
        return ProbeOutcome(500 if site.url == B else 200, 1.0, None)

    monitor = RunningMonitor(config(SiteConfig(A, 5, 1), SiteConfig(B, 5, 1)), SqliteEventLog(tmp_path / "m.db"),
                             probe, clock, io=io)
    clock.schedule_absolute(0, lambda *_: monitor.start())
    clock.schedule_absolute(1, lambda *_: monitor.reload(config(SiteConfig(A, 5, 1))))
    clock.advance_to(1.5)
    io.advance_to(2)
    clock.advance_to(2)
    monitor.stop()
    assert [(p.host, p.timestamp, p.available) for p in monitor.probes] == [(A, 0, True), (B, 0, False)]
    assert monitor.transitions == []


def test_the_probes_of_a_site_a_reload_removed_are_not_judged_nor_those_it_held_until_it_comes_back() -> None:
    """C, added (its probes held for its reading), is removed before the reading is in: the probes it held and
    those still landing are judged by no machine. Added again, its probes wait for its new reading as before."""
    waits = ProbesWaitingForTheirPast()
    first = config(SiteConfig(A, 1, 1))
    with_c = config(SiteConfig(A, 1, 1), SiteConfig(C, 1, 1))
    waits.apply((first, with_c))
    reading = waits.hold(frozenset({C}))
    held = Probe(1.0, C, False, 503, 1.0)
    assert waits.admit((held,)) == ()
    waits.apply((with_c, first))
    landed = (Probe(2.0, A, True, 200, 1.0), Probe(2.0, C, False, 503, 1.0))
    assert waits.admit(landed) == landed[:1]
    nothing = StatesRead(reading, AlertStates({}), WarningsTold(()))
    assert waits.release(nothing) == (nothing, ())
    waits.apply((first, with_c))
    again = waits.hold(frozenset({C}))
    later = Probe(3.0, C, True, 200, 1.0)
    assert waits.admit((later,)) == ()
    assert waits.release(StatesRead(again, AlertStates({}), WarningsTold(())))[1] == (later,)


def test_a_site_a_reload_gives_a_longer_alert_window_judges_over_its_stored_probes_of_it_as_a_restart_would(
        tmp_path: Path) -> None:
    """A answers every second from -100 s on (the log holds them up to 9 s) but at 10 s; its alert window goes
    from 3 s to 60 s at 9.5 s. Judged over the 60 s the log holds, 59 of 60 (98 %) is no alert; before, the window
    held the 3 s it had kept: 3 of 4 (75 %), an alert at 10 s and a recovery at 11 s. The reads run on a background
    that runs only at 12 s: A's probes wait for them, as an added site's do."""
    start = 1_795_000_000.0
    history = tmp_path / "history.db"
    setup = SqliteEventLog(history)
    for second in range(-100, 10):
        setup.append_probe(Probe(start + second, A, True, 200, 1.0))
    setup.close()
    clock = HistoricalScheduler(utc_datetime(start))
    background = HistoricalScheduler(utc_datetime(start))

    def probe(site: SiteConfig) -> ProbeOutcome:
        return ProbeOutcome(503 if clock.now == utc_datetime(start + 10) else 200, 1.0, None)

    def version(window: float) -> Config:
        return Config(sites=(SiteConfig(A, 1, 1),), alert=AlertPolicy(window=window), reports=())

    reader = SqliteLogReader(history)
    monitor = RunningMonitor(version(3), SqliteEventLog(tmp_path / "m.db"), probe, clock, history=reader,
                             background=background)
    clock.schedule(lambda *_: monitor.start())
    clock.schedule_absolute(utc_datetime(start + 9.5), lambda *_: monitor.reload(version(60)))
    clock.advance_by(timedelta(seconds=12))
    background.advance_by(timedelta(seconds=12))
    clock.advance_by(timedelta(seconds=10))
    monitor.stop()
    reader.close()
    assert [p.available for p in monitor.probes if p.timestamp == start + 10] == [False]
    assert monitor.transitions == []


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


def test_a_site_a_reload_adds_reports_its_logged_past_and_one_removed_and_added_back_counts_it_once(
        tmp_path: Path) -> None:
    """C (probed before, every 10 s, each sixth down) and D (down since 4,000 s before the start, its last success
    5,000 s before) are added at 15.5 s; A, removed at 10.5 s, is added back at 15.5 s, before any report dropped
    its window. Their reports (at 45.5 s: the reload restarts the report clock) count the log's probes as a
    restart's would: the hour's, and D's outage from before it. Before, C and D started from their first probe,
    and so did A."""
    start = 1_795_000_000.0
    history = tmp_path / "history.db"
    setup = SqliteEventLog(history, flush_interval=30.0)
    for k in range(400, 0, -1):
        setup.append_probe(Probe(start - 10 * k, D, False, 503, 2.0, ErrorKind.STATUS))
        if k <= 360:
            up = k % 6 != 0
            setup.append_probe(Probe(start - 10 * k, C, up, 200 if up else 503, 2.0,
                                     None if up else ErrorKind.STATUS))
    setup.append_probe(Probe(start - 5000, D, True, 200, 2.0))
    for t in (0, 4, 8):  # what this very monitor stored of A before the reload removed it
        setup.append_probe(Probe(start + t, A, True, 200, 1.0))
    setup.close()
    # Every 4 s (B 7 s): no probe due at the report's very moment.
    sites = {url: SiteConfig(url, 7 if url == B else 4, 1) for url in (A, B, C, D)}

    def version(*urls: str) -> Config:
        return Config(sites=tuple(sites[url] for url in urls), alert=AlertPolicy(window=20),
                      reports=(ReportSpec(30, (120, 3600)),))

    clock = HistoricalScheduler(utc_datetime(start))

    def probe(site: SiteConfig) -> ProbeOutcome:
        return ProbeOutcome(503, 2.0, ErrorKind.STATUS) if site.url == D else ProbeOutcome(200, 1.0, None)

    reader = SqliteLogReader(history)
    monitor = RunningMonitor(version(A, B), SqliteEventLog(tmp_path / "m.db"), probe, clock, history=reader)
    clock.schedule(lambda *_: monitor.start())
    clock.schedule_absolute(utc_datetime(start + 10.5), lambda *_: monitor.reload(version(B)))
    clock.schedule_absolute(utc_datetime(start + 15.5), lambda *_: monitor.reload(version(A, B, C, D)))
    clock.advance_by(timedelta(seconds=46))
    monitor.stop()
    reader.close()
    figures = [(report.timestamp - start, report.span, row.host, row.checks, row.available, row.current_downtime,
                row.since_last_failure) for report in monitor.reports for row in report.rows]
    # Live since 15.5 s: 8 probes (15.5-43.5 s) of each added site.
    assert sorted(figures) == sorted([
        # A: 3 probes (0, 4, 8 s) read back, none twice.
        (45.5, 120, A, 3 + 8, 3 + 8, None, None), (45.5, 3600, A, 3 + 8, 3 + 8, None, None),
        (45.5, 120, B, 7, 7, None, None), (45.5, 3600, B, 7, 7, None, None),  # 0-42 s
        # C: 7 probes of the log in (-74.5, 0] s (one down, at -60 s) and 355 in (-3554.5, 0] (59 down).
        (45.5, 120, C, 7 + 8, 6 + 8, None, 105.5), (45.5, 3600, C, 355 + 8, 296 + 8, None, 105.5),
        # D: down since -4,000 s, which only the log's outcomes from before the hour say.
        (45.5, 120, D, 7 + 8, 0, 4045.5, 2.0), (45.5, 3600, D, 355 + 8, 0, 4045.5, 2.0)])


def test_a_site_removed_and_added_back_while_the_restarts_past_and_a_reloads_still_load_counts_each_probe_once(
        tmp_path: Path) -> None:
    """A restart's past (A: 350 probes, every 10 s) and the past a reload reads are read on a background that
    runs only after the reloads: A is removed at 10.5 s and 20.5 s and added back at 15.5 s and 25.5 s, so three
    readings of A's past are under way at once. Only the last one reaches A's window. Before, the restart's
    chunks and the first reload's were counted too: 1,057 checks in the hour for 358."""
    start = 1_795_000_000.0
    history = tmp_path / "history.db"
    setup = SqliteEventLog(history, flush_interval=30.0)
    for k in range(350, 0, -1):
        setup.append_probe(Probe(start - 10 * k, A, True, 200, 1.0))
    setup.close()
    sites = {url: SiteConfig(url, 4 if url == A else 7, 1) for url in (A, B)}

    def version(*urls: str) -> Config:
        return Config(sites=tuple(sites[url] for url in urls), alert=AlertPolicy(window=20),
                      reports=(ReportSpec(30, (120, 3600)),))

    clock = HistoricalScheduler(utc_datetime(start))
    background = HistoricalScheduler(utc_datetime(start))
    reader = SqliteLogReader(history)
    past = load_past(reader, version(A, B), start)
    assert past.earlier is not None  # the restart's past is still to read
    monitor = RunningMonitor(version(A, B), SqliteEventLog(tmp_path / "m.db"),
                             lambda _: ProbeOutcome(200, 1.0, None), clock, past=past, history=reader,
                             background=background)
    clock.schedule(lambda *_: monitor.start())
    for moment, urls in ((10.5, (B,)), (15.5, (A, B)), (20.5, (B,)), (25.5, (A, B))):
        clock.schedule_absolute(utc_datetime(start + moment), lambda *_, urls=urls: monitor.reload(version(*urls)))
    clock.advance_by(timedelta(seconds=27))
    for _ in range(5):  # every reading's chunks, each handed to the clock
        background.advance_by(timedelta(seconds=1))
        clock.advance_by(timedelta(seconds=0.01))
    clock.advance_to(utc_datetime(start + 56))
    monitor.stop()
    reader.close()
    figures = [(report.timestamp - start, report.span, row.host, row.checks) for report in monitor.reports
               for row in report.rows]
    # The report clock restarts at 25.5 s. A, live since 25.5 s: 8 probes (25.5-53.5 s); the log's: 6 in
    # (-64.5, 0] s, all 350 in (-3544.5, 0]. B, never removed: 8 probes (0-49 s).
    assert sorted(figures) == sorted([(55.5, 120, A, 6 + 8), (55.5, 3600, A, 350 + 8),
                                      (55.5, 120, B, 8), (55.5, 3600, B, 8)])


LEFT_IN_ALERT = 1_795_000_000.0
"""When the monitor of `write_left_in_alert`'s log starts."""


def write_left_in_alert(history: Path) -> None:
    """A log in which C and D were left in alert, and E's certificate (10 days from expiry) warned of at 14 days."""
    start, not_after = LEFT_IN_ALERT, LEFT_IN_ALERT + 10 * DAY
    setup = SqliteEventLog(history)
    setup.append_transition(AlertTransition(start - 500, C, TransitionKind.ALERT, 0.0, start - 500))
    setup.append_transition(AlertTransition(start - 300, D, TransitionKind.ALERT, 0.0, start - 300))
    setup.append_transition(AlertTransition(start - 4 * DAY, E, TransitionKind.CERTIFICATE, None, not_after,
                                            not_after - 14 * DAY, detail="expires in 14d00h"))
    setup.close()


def left_in_alert_version(*urls: str) -> Config:
    return Config(sites=tuple(SiteConfig(url, 1, 1) for url in urls), alert=AlertPolicy(window=20),
                  reports=(ReportSpec(30, (120,)),))


def left_in_alert_probe(site: SiteConfig) -> ProbeOutcome:
    """C and E answer (E's certificate as stored), D is still down."""
    if site.url == D:
        return ProbeOutcome(503, 2.0, ErrorKind.STATUS)
    return ProbeOutcome(200, 1.0, None, certificate_expiry=LEFT_IN_ALERT + 10 * DAY if site.url == E else None)


def test_a_site_a_reload_adds_resumes_its_stored_alert_state_and_tells_no_certificate_warning_twice(
        tmp_path: Path) -> None:
    """C and D were in alert when they left the config (their alerts are the log's last word on them); E's
    certificate, 10 days from expiry, was warned of at 14 days. A reload adds them back at 5.5 s. C answers
    again: its recovery closes the stored alert. D is still down: no second alert. E: no second warning. Before,
    C's alert stayed open for ever, D was alerted again at its first probe and E warned of again."""
    start = LEFT_IN_ALERT
    history = tmp_path / "history.db"
    write_left_in_alert(history)
    version = left_in_alert_version
    clock = HistoricalScheduler(utc_datetime(start))
    reader = SqliteLogReader(history)
    monitor = RunningMonitor(version(A), SqliteEventLog(tmp_path / "m.db"), left_in_alert_probe, clock,
                             history=reader)
    clock.schedule(lambda *_: monitor.start())
    clock.schedule_absolute(utc_datetime(start + 5.5), lambda *_: monitor.reload(version(A, C, D, E)))
    clock.advance_by(timedelta(seconds=20))
    monitor.stop()
    reader.close()
    assert [(t.host, t.kind, t.timestamp - start, t.start - start, t.end and t.end - start)
            for t in monitor.transitions] == [(C, TransitionKind.RECOVERY, 5.5, -500, 5.5)]


def test_a_site_a_reload_adds_back_while_in_alert_recovers_over_its_alert_window_not_at_its_first_success(
        tmp_path: Path) -> None:
    """C failed every second until it left the config at 0 s, in alert since -15 s; a reload adds it back at 5.5 s
    and it answers again. Its alert window (20 s) still holds its failures from -14 to 0 s: as at a restart, its
    machine is warmed with them, so the recovery comes once 80 % of the window is successes, at 17.5 s (13 of
    16: 5.5-17.5 s up, -2-0 s down), not at its first success. Before, its window started empty and the first
    success recovered it at 5.5 s."""
    start = LEFT_IN_ALERT
    history = tmp_path / "history.db"
    setup = SqliteEventLog(history)
    setup.append_transition(AlertTransition(start - 15, C, TransitionKind.ALERT, 0.0, start - 15))
    for second in range(-30, 1):
        setup.append_probe(Probe(start + second, C, False, 503, 2.0, ErrorKind.STATUS))
    setup.close()
    clock = HistoricalScheduler(utc_datetime(start))
    reader = SqliteLogReader(history)
    monitor = RunningMonitor(left_in_alert_version(A), SqliteEventLog(tmp_path / "m.db"), left_in_alert_probe,
                             clock, history=reader)
    clock.schedule(lambda *_: monitor.start())
    clock.schedule_absolute(utc_datetime(start + 5.5), lambda *_: monitor.reload(left_in_alert_version(A, C)))
    clock.advance_by(timedelta(seconds=20))
    monitor.stop()
    reader.close()
    assert [(t.host, t.kind, t.timestamp - start, t.start - start, t.end and t.end - start, t.availability)
            for t in monitor.transitions] == [(C, TransitionKind.RECOVERY, 17.5, -15, 17.5, 13 / 16)]


def test_a_reload_that_adds_sites_reads_their_alert_state_in_the_background_and_judges_them_only_once_it_is_in(
        tmp_path: Path) -> None:
    """As above, but the stored alert states and certificate warnings are read on a background that runs only at
    9 s: the clock's thread reads nothing (on SQLite, a scan of the alerts), and the added sites' probes from
    5.5 s wait for the read to be judged; then C's recovery closes its stored alert, D is not alerted again and
    E not warned again. Before, the clock read them itself as it applied the version."""
    start = LEFT_IN_ALERT
    history = tmp_path / "history.db"
    write_left_in_alert(history)
    version = left_in_alert_version
    clock = HistoricalScheduler(utc_datetime(start))
    background = HistoricalScheduler(utc_datetime(start))
    where = ["clock"]
    reads: list[tuple[str, str]] = []

    class RecordingReader(SqliteLogReader):
        """The log as it is, which says on which scheduler each read of the alerts ran."""

        def last_transitions(self, hosts: Collection[str] | None = None) -> dict[str, AlertTransition]:
            reads.append(("last_transitions", where[0]))
            return super().last_transitions(hosts)

        def transitions_since(self, since: float | None,
                              hosts: Collection[str] | None = None) -> Page[AlertTransition]:
            reads.append(("transitions_since", where[0]))
            return super().transitions_since(since, hosts)

    reader = RecordingReader(history)
    monitor = RunningMonitor(version(A), SqliteEventLog(tmp_path / "m.db"), left_in_alert_probe, clock,
                             history=reader, background=background)
    clock.schedule(lambda *_: monitor.start())
    clock.schedule_absolute(utc_datetime(start + 5.5), lambda *_: monitor.reload(version(A, C, D, E)))
    clock.advance_by(timedelta(seconds=9))
    assert (reads, monitor.transitions) == ([], []), "nothing read on the clock, nothing judged yet"
    where[0] = "background"
    background.advance_by(timedelta(seconds=1))
    where[0] = "clock"
    clock.advance_by(timedelta(seconds=11))
    monitor.stop()
    reader.close()
    assert sorted(reads) == [("last_transitions", "background"), ("transitions_since", "background")]
    assert [(t.host, t.kind, t.timestamp - start, t.start - start, t.end and t.end - start)
            for t in monitor.transitions] == [(C, TransitionKind.RECOVERY, 5.5, -500, 5.5)]
    # The added sites' probes (5.5-8.5 s) were all judged, and kept in the log as they landed.
    assert sum(1 for p in monitor.probes if p.host == C and p.timestamp < start + 9) == 4


def test_a_site_added_removed_and_added_again_before_its_read_is_in_counts_its_held_probes_once(
        tmp_path: Path) -> None:
    """C, in alert since -500 s, is added at 1.5 s and fails; removed at 4 s; added again at 6 s, and answers. Its
    reads run on a background that runs only at 7 s: by then the log holds the failures it gave at 1.5-3.5 s, which
    waited to be judged (held for the second reading), and the second read finds them too. Counted once, the
    recovery comes at 17 s, when 12 successes (6-17 s) are 80 % of the window (-3, 17]; counted twice, at 23 s."""
    start = LEFT_IN_ALERT
    history = tmp_path / "history.db"
    setup = SqliteEventLog(history)
    setup.append_transition(AlertTransition(start - 500, C, TransitionKind.ALERT, 0.0, start - 500))
    for second in (1.5, 2.5, 3.5):  # as this monitor's own log holds them by 7 s
        setup.append_probe(Probe(start + second, C, False, 503, 2.0, ErrorKind.STATUS))
    setup.close()
    clock = HistoricalScheduler(utc_datetime(start))
    background = HistoricalScheduler(utc_datetime(start))

    def probe(site: SiteConfig) -> ProbeOutcome:
        if site.url == C and clock.now < utc_datetime(start + 5):
            return ProbeOutcome(503, 2.0, ErrorKind.STATUS)
        return ProbeOutcome(200, 1.0, None)

    version = left_in_alert_version
    reader = SqliteLogReader(history)
    monitor = RunningMonitor(version(A), SqliteEventLog(tmp_path / "m.db"), probe, clock, history=reader,
                             background=background)
    clock.schedule(lambda *_: monitor.start())
    for moment, urls in ((1.5, (A, C)), (4.0, (A,)), (6.0, (A, C))):
        clock.schedule_absolute(utc_datetime(start + moment), lambda *_, urls=urls: monitor.reload(version(*urls)))
    clock.advance_by(timedelta(seconds=7))
    background.advance_by(timedelta(seconds=7))
    clock.advance_by(timedelta(seconds=23))
    monitor.stop()
    reader.close()
    assert [(t.host, t.kind, t.timestamp - start, t.start - start, t.availability)
            for t in monitor.transitions] == [(C, TransitionKind.RECOVERY, 17, -500, 12 / 15)]


def test_an_added_sites_probes_wait_for_its_latest_reading_and_all_go_at_the_end() -> None:
    """C, added (reading 1), removed and added again (reading 2) before either read is in: reading 1 releases
    only D's probes; C's wait for reading 2. A's never wait. At the end, what still waits is released."""
    waits = ProbesWaitingForTheirPast()
    first = waits.hold(frozenset({C, D}))
    second = waits.hold(frozenset({C}))
    probes = [Probe(float(t), host, True, 200, 1.0) for t in range(2) for host in (A, C, D)]
    assert [p.host for p in waits.admit(tuple(probes))] == [A, A]
    nothing = (AlertStates({}), WarningsTold(()))
    read = StatesRead(first, *nothing)
    assert waits.release(read) == (read, (probes[2], probes[5]))
    later = Probe(2.0, C, True, 200, 1.0)
    assert waits.admit((later,)) == ()
    assert waits.release(ALL_READ) == (ALL_READ, (probes[1], probes[4], later))
    assert waits.release(StatesRead(second, *nothing))[1] == ()
    assert waits.admit((later,)) == (later,)


def test_the_probes_read_back_for_a_site_that_are_also_held_go_in_once_as_the_held_probes() -> None:
    """A read that ends after a site's first held probe (its live probes, stored meanwhile) keeps of the site's
    probes only those before it; another site's read probes stay."""
    waits = ProbesWaitingForTheirPast()
    reading = waits.hold(frozenset({C, D}))
    held = (Probe(5.0, C, False, 503, 1.0), Probe(6.0, C, False, 503, 1.0))
    assert waits.admit(held) == ()
    read_back = tuple(Probe(t, host, False, 503, 1.0) for t in (3.0, 4.0, 5.0, 6.0) for host in (C, D))
    states = AlertStates({}, read_back)
    read, released = waits.release(StatesRead(reading, states, WarningsTold(())))
    assert released == held
    assert read.states.probes == tuple(p for p in read_back if p.host == D or p.timestamp < 5.0)


def test_a_monitor_that_judges_nothing_waits_for_none_of_its_past_and_reports_all_of_it_while_its_clocks_tick(
        tmp_path: Path) -> None:
    """A prober (`-m --nats`) has no alert machine to resume: its start reads only whether there is a past, and
    its reports get the whole longest window from the background, to the last probe before the start."""
    start = 1_795_000_000.0
    db = tmp_path / "m.db"
    setup = SqliteEventLog(db, flush_interval=30.0)
    for second in range(200, 0, -1):
        setup.append_probe(Probe(start - second, A, second % 5 != 0, 200 if second % 5 else 503, 1.0))
    setup.append_transition(AlertTransition(start - 50, A, TransitionKind.ALERT, 0.5, start - 50))
    setup.close()
    # Every 7 s: no probe due at the report's very moment.
    config = Config(sites=(SiteConfig(A, 7, 1),), alert=AlertPolicy(window=20), reports=(ReportSpec(30, (120,)),))
    reader = SqliteLogReader(db)
    past = load_past(reader, config, start, judges=False)
    assert (past.probes, past.transitions, past.certificate_warnings) == ((), {}, ())
    assert past.earlier is not None and (past.earlier.since, past.earlier.before) == (start - 120, start - 0.001)
    clock = HistoricalScheduler(utc_datetime(start))
    monitor = RunningMonitor(config, SqliteEventLog(tmp_path / "new.db"), lambda _: ProbeOutcome(200, 1.0, None),
                             clock, past=past)
    clock.schedule(lambda *_: monitor.start())
    clock.advance_by(timedelta(seconds=30.5))
    monitor.stop()
    reader.close()
    # (-90, 30]: 89 stored probes (-89 to -1 s), every fifth down (17, the last at -5 s), and 5 live (0-28 s).
    assert [(report.timestamp - start, row.checks, row.available, row.since_last_failure)
            for report in monitor.reports for row in report.rows] == [(30, 89 + 5, 72 + 5, 35.0)]


def test_the_probes_of_one_tick_that_finish_before_the_clock_delivers_reach_the_operators_as_one_batch(
        tmp_path: Path) -> None:
    clock = TestScheduler()

    def probe(site: SiteConfig) -> ProbeOutcome:
        return ProbeOutcome(500 if site.url == B else 200, 1.0, None)

    monitor = RunningMonitor(config(SiteConfig(A, 2, 1), SiteConfig(B, 2, 1), SiteConfig(C, 4, 1)),
                             SqliteEventLog(tmp_path / "m.db"), probe, clock)
    batches: list[tuple[float, tuple[str, ...]]] = []
    monitor.graph.probe_batches.subscribe(lambda batch: batches.append((clock.clock, tuple(p.host for p in batch))))
    clock.schedule_absolute(0, lambda *_: monitor.start())
    clock.advance_to(4)
    monitor.stop()
    # The io scheduler is immediate: a tick's probes have all finished when the clock gets to deliver them, in
    # the order they finished (the grid's: at 4 s, C's 4-second clock comes first).
    assert batches == [(0, (A, B, C)), (2, (A, B)), (4, (C, A, B))]
    assert [(p.timestamp, p.host) for p in monitor.probes] == [
        (0, A), (0, B), (0, C), (2, A), (2, B), (4, C), (4, A), (4, B)]
    assert [(t.host, t.kind, t.timestamp) for t in monitor.transitions] == [(B, TransitionKind.ALERT, 0)]


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
