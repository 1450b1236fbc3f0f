"""Print-only mode in a real process: the numbers it prints are those of the stored rows (the graph's equality with
the monitor: tests/graph/test_readers.py)."""

from __future__ import annotations

import sqlite3

import pytest

from monitoringapp.domain.events import Report
from monitoringapp.domain.timefmt import iso_utc, parse_iso
from monitoringapp.operators.stats import window_stats
from monitoringapp.operators.window import SlidingWindow
from monitoringapp.sinks.console import report_lines
from monitoringapp.store.log import BEGINNING
from monitoringapp.store.sqlite.reader import SqliteLogReader
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
