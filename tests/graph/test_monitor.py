"""The monitoring graph in virtual time: a reload applied as a diff, a reloaded policy from the next probe."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from reactivex.testing import TestScheduler

from monitoringapp.domain.config import AlertPolicy, Config, ReportSpec, SiteConfig
from monitoringapp.domain.events import TransitionKind
from monitoringapp.domain.timefmt import parse_iso
from monitoringapp.store.sqlite.writer import SqliteEventLog
from monitoringapp.streams.http_probe import ProbeOutcome
from monitoringapp.streams.probes import ConfigChange
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
    assert monitor.changes == [ConfigChange(added=(C,), removed=(D,), retimed=(B,))]


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
