"""Live reload: a new config version applied as a diff (virtual time), and a real `-m` process reloading its file."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
from pathlib import Path

from reactivex.scheduler import ImmediateScheduler
from reactivex.testing import TestScheduler

from app.monitor import Monitor
from domain.config import AlertPolicy, Config, ReportSpec, SiteConfig
from domain.events import AlertTransition, TransitionKind
from domain.timefmt import parse_iso
from sinks.console import Console
from sinks.sqlite_sink import SqliteEventStore
from streams.http_probe import ProbeOutcome
from tests.local_http import LocalServer
from tests.processes import App, wait_until

A, B, C, D = (f"http://{name}.test/" for name in "abcd")


def config(*sites: SiteConfig) -> Config:
    return Config(sites=sites, alert=AlertPolicy(window=10), reports=(ReportSpec(60, (60,)),))


def test_reload_is_a_diff_untouched_site_keeps_its_rhythm_retimed_site_keeps_its_alert(tmp_path: Path) -> None:
    clock = TestScheduler()
    b_up_from = 11.0  # B fails until the reload, then answers

    def probe(url: str, timeout: float) -> ProbeOutcome:
        up = url != B or clock.clock >= b_up_from
        return ProbeOutcome(200 if up else 500, 1.0, None)

    transitions: list[AlertTransition] = []
    console = io.StringIO()
    store = SqliteEventStore(tmp_path / "m.db", flush_interval=0.05)
    monitor = Monitor(config(SiteConfig(A, 2, 1), SiteConfig(B, 2, 1), SiteConfig(D, 2, 1)), store, probe,
                      clock, ImmediateScheduler(), Console(console, colour=False),
                      on_transition=transitions.append)
    clock.schedule_absolute(0, lambda *_: monitor.start())
    clock.schedule_absolute(11, lambda *_: monitor.reload(
        config(SiteConfig(A, 2, 1), SiteConfig(B, 5, 1), SiteConfig(C, 2, 1))))
    clock.advance_to(25)
    monitor.stop()

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
    assert "config reloaded: +1 site, -1, ~1 changed" in console.getvalue().splitlines()


def test_reloaded_alert_threshold_applies_from_the_next_probe(tmp_path: Path) -> None:
    clock = TestScheduler()
    ups = iter([True, True, True, False] + [True] * 100)  # 3 of 4 = 75 % at t=6

    def probe(url: str, timeout: float) -> ProbeOutcome:
        return ProbeOutcome(200 if next(ups) else 500, 1.0, None)

    transitions: list[AlertTransition] = []
    monitor = Monitor(config(SiteConfig(A, 2, 1)), SqliteEventStore(tmp_path / "m.db"), probe, clock,
                      ImmediateScheduler(), on_transition=transitions.append)
    clock.schedule_absolute(0, lambda *_: monitor.start())
    stricter = Config(sites=(SiteConfig(A, 2, 1),), alert=AlertPolicy(window=10, threshold=0.5,
                                                                        recovery_threshold=0.5))
    clock.schedule_absolute(5, lambda *_: monitor.reload(stricter))
    clock.advance_to(12)
    monitor.stop()
    assert transitions == [], "75 % is below the old 80 % but not below the reloaded 50 %"


# ---- a real monitor process -------------------------------------------------------------------------------


def write_sites(path: Path, *urls: str) -> None:
    path.write_text(json.dumps({"websites": [{"URL": u, "checkInterval": 0.2} for u in urls],
                                "reports": [{"every": 60, "windows": [60]}]}))


def count_rows(db: Path, host: str) -> int:
    if not db.exists():
        return 0
    connection = sqlite3.connect(db, timeout=5)
    try:
        return int(connection.execute("SELECT count(*) FROM website_monitoring WHERE host = ?", (host,))
                   .fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        connection.close()


def test_running_monitor_reloads_edits_and_renames_and_survives_an_invalid_edit(
        tmp_path: Path, server: LocalServer) -> None:
    keep, drop, new = (server.url(f"/ok?{name}") for name in ("keep", "drop", "new"))
    cfg, db = tmp_path / "config.json", tmp_path / "m.db"
    write_sites(cfg, keep, drop)
    app = App("-m", "-c", str(cfg), "-db", str(db))
    try:
        wait_until(lambda: count_rows(db, drop) > 0, 8, "first probe rows", alive=app)

        temp = tmp_path / "config.json.tmp"  # an editor's save: write aside, rename over
        write_sites(temp, keep, new)
        os.replace(temp, cfg)
        app.wait_for_line(lambda text: "config reloaded: +1 site, -1, ~0 changed" in text, 4)
        wait_until(lambda: count_rows(db, new) >= 3, 8, "the added site's rows", alive=app)
        dropped = count_rows(db, drop)

        cfg.write_text('{"websites": [{"URL": "no-scheme.test"}]}')  # edited in place, invalid
        wait_until(lambda: "config rejected:" in app.stderr(), 4, "the rejection", alive=app)
        before = count_rows(db, new)
        wait_until(lambda: count_rows(db, new) >= before + 5, 8, "monitoring going on after the rejection",
                   alive=app)
        assert count_rows(db, drop) == dropped, "the removed site was probed after its removal"

        write_sites(cfg, keep)  # in place, then SIGHUP
        app.process.send_signal(signal.SIGHUP)
        app.wait_for_line(lambda text: "config reloaded: +0 site, -1, ~0 changed" in text, 4)
        assert app.running(), "the monitor exited during reloads"
    finally:
        status, errors = app.stop(signal.SIGINT, timeout=10)
    rejected = [line for line in errors.splitlines() if "config rejected" in line]
    assert rejected == [f'config rejected: {cfg}: websites[0].URL: needs a scheme, http:// or https://, '
                        f'got "no-scheme.test"']
    assert status == 0
    assert "Traceback" not in errors
