"""Print-only mode in a real process: the numbers it prints are those of the stored rows (the graph's equality with
the monitor: tests/graph/test_readers.py)."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from bench.processes import App, run_app
from monitoringapp.domain.events import AlertTransition, Probe, Report, TransitionKind
from monitoringapp.domain.timefmt import iso_utc, parse_iso
from monitoringapp.operators.stats import window_stats
from monitoringapp.operators.window import SlidingWindow
from monitoringapp.sinks.console import report_lines
from monitoringapp.store.log import BEGINNING
from monitoringapp.store.sqlite.reader import SqliteLogReader
from monitoringapp.store.sqlite.writer import SqliteEventLog
from tests.app.readers_session import readers_session

pytestmark = pytest.mark.slow  # real processes


def test_print_mode_process_prints_the_numbers_computed_from_the_stored_rows() -> None:
    session = readers_session()
    connection = sqlite3.connect(session.db)
    reader = SqliteLogReader(session.db)
    probes = reader.probes_after(BEGINNING, {session.site}).events
    reader.close()
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


# ---- stale data, alerts and recoveries, --site ------------------------------------------------------------

A, B = "http://a.test/", "http://b.test/"


def stored_db(path: Path, now: float, stopped: float = 600) -> None:
    """Probes of A and B that stopped `stopped` seconds ago, and A's alert among them."""
    log = SqliteEventLog(path)
    for n in range(30):
        at = now - stopped - 30 + n
        log.append_probe(Probe(at, A, n < 20, 200 if n < 20 else 503, 1.0))
        log.append_probe(Probe(at, B, True, 200, 2.0))
    log.append_transition(AlertTransition(now - stopped - 5, A, TransitionKind.ALERT, 0.6, start=now - stopped - 5))
    log.close()


@pytest.fixture(scope="module")
def stale_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("stale")
    stored_db(directory / "m.db", time.time())
    config = directory / "c.json"
    config.write_text(json.dumps({"websites": [{"URL": A}, {"URL": B}], "reports": [{"every": 1, "windows": [3600]}]}))
    return config, directory / "m.db"


def test_print_mode_says_when_the_data_is_stale_and_shows_the_stored_alerts(stale_db: tuple[Path, Path]) -> None:
    config, db = stale_db
    app = App("-p", "-c", str(config), "-db", str(db))
    try:
        app.wait_for_line(lambda text: text.startswith("(no probe stored for 10m"), 10)
        assert app.stop(signal.SIGINT) == (0, "")
    finally:
        app.kill()
    lines = app.output()
    assert any(line.startswith(f"Website {A} is down. availability=60.0%") for line in lines), lines
    stale = [line for line in lines if line.startswith("(no probe stored for 10m")]
    assert stale and all(line.endswith(": is the monitor running?)") for line in stale)


def test_print_mode_site_takes_any_spelling_of_a_configured_site_and_refuses_an_unknown_one(
        stale_db: tuple[Path, Path]) -> None:
    config, db = stale_db
    app = App("-p", "-c", str(config), "-db", str(db), "--site", "HTTP://A.TEST")
    try:
        app.wait_for_line(lambda text: text.startswith(A), 10)
        assert app.stop(signal.SIGINT) == (0, "")
    finally:
        app.kill()
    assert not any(line.startswith(B) for line in app.output())
    refused = run_app("-p", "-c", str(config), "-db", str(db), "--site", "http://c.test/", timeout=20)
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == (f"monitoringApp: error: --site: http://c.test/ is none of the sites of {config} "
                              f"({A}, {B})\n")


def test_print_mode_says_the_data_is_stale_even_when_it_is_older_than_every_window(tmp_path: Path) -> None:
    db, config = tmp_path / "m.db", tmp_path / "c.json"
    stored_db(db, time.time(), stopped=7200)  # the monitor stopped two hours ago: nothing in the past hour
    config.write_text(json.dumps({"websites": [{"URL": A}], "reports": [{"every": 1, "windows": [3600]}]}))
    app = App("-p", "-c", str(config), "-db", str(db))
    try:
        _, line = app.wait_for_line(lambda text: text.startswith("(no checks"), 10)
        assert app.stop(signal.SIGINT) == (0, "")
    finally:
        app.kill()
    assert line.startswith("(no checks in this window; no probe stored for 2h00m: is the monitor running?)"), line
