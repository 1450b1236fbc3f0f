"""Live reload: a new config version applied as a diff (virtual time), and a real `-m` process reloading its file."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from reactivex.scheduler import ImmediateScheduler
from reactivex.testing import TestScheduler

from app.monitor import Monitor
from domain.config import AlertPolicy, Config, ReportSpec, SiteConfig
from domain.events import AlertTransition, TransitionKind
from domain.timefmt import parse_iso
from sinks.console import Console
from sinks.sqlite_sink import SqliteEventStore
from streams.http_probe import ProbeOutcome

REPO = Path(__file__).resolve().parents[2]
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


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def write_sites(path: Path, *urls: str) -> None:
    path.write_text(json.dumps({"websites": [{"URL": u, "checkInterval": 0.2} for u in urls],
                                "reports": [{"every": 60, "windows": [60]}]}))


def wait_for(predicate: object, what: str, deadline: float = 8.0) -> None:
    assert callable(predicate)
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


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


class Lines:
    """A process's output read on a thread, so a test can wait for a line with a deadline."""

    def __init__(self, stream: io.TextIOBase) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: io.TextIOBase) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def has(self, text: str) -> bool:
        return any(text in line for line in self.lines)


def test_running_monitor_reloads_edits_and_renames_and_survives_an_invalid_edit(
        tmp_path: Path, server: str) -> None:
    keep, drop, new = f"{server}/keep", f"{server}/drop", f"{server}/new"
    cfg, db = tmp_path / "config.json", tmp_path / "m.db"
    write_sites(cfg, keep, drop)
    process = subprocess.Popen([sys.executable, str(REPO / "monitoringApp.py"), "-m", "-c", str(cfg),
                                "-db", str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    out, err = Lines(process.stdout), Lines(process.stderr)  # type: ignore[arg-type]
    try:
        wait_for(lambda: count_rows(db, drop) > 0, "first probe rows")

        temp = tmp_path / "config.json.tmp"  # an editor's save: write aside, rename over
        write_sites(temp, keep, new)
        os.replace(temp, cfg)
        wait_for(lambda: out.has("config reloaded: +1 site, -1, ~0 changed"), "the reload line", 4)
        wait_for(lambda: count_rows(db, new) >= 3, "the added site's rows")
        dropped = count_rows(db, drop)

        cfg.write_text('{"websites": [{"URL": "no-scheme.test"}]}')  # edited in place, invalid
        wait_for(lambda: err.has("config rejected:"), "the rejection", 4)
        before = count_rows(db, new)
        wait_for(lambda: count_rows(db, new) >= before + 5, "monitoring going on after the rejection")
        assert count_rows(db, drop) == dropped, "the removed site was probed after its removal"

        write_sites(cfg, keep)  # in place, then SIGHUP
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: out.has("config reloaded: +0 site, -1, ~0 changed"), "the SIGHUP reload", 4)
        assert process.poll() is None, "the monitor exited during reloads"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    rejected = [line for line in err.lines if "config rejected" in line]
    assert rejected == [f'config rejected: {cfg}: websites[0].URL: needs a scheme, http:// or https://, '
                        f'got "no-scheme.test"']
    assert process.returncode == 0
    assert "Traceback" not in "\n".join(err.lines)
