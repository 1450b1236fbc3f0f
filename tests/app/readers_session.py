"""One real multi-process session, shared by the -a and -p tests (it costs ~12 s, so it runs once).

A silent monitor watches a local site; `-a` and `-p` follow the same database,
both started before it exists. The site goes down (an alert), the monitor is
killed with SIGKILL and restarted, the site comes back (a recovery, written by
the new monitor), then the monitor stops with SIGTERM. A thread polls the
database on its own to see how many alert rows are committed at each step.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.processes import App, wait_until
from monitoringapp.domain.events import AlertTransition
from monitoringapp.store.log import BEGINNING, Cursor, LogUnavailable
from monitoringapp.store.sqlite.reader import SqliteLogReader
from tests.local_http import local_server


@dataclass
class Exited:
    status: int
    stderr: str


@dataclass
class ReadersSession:
    db: Path
    site: str
    notify: App
    printer: App
    monitors: list[App]
    exits: dict[str, Exited] = field(default_factory=dict)
    alert_rows: list[AlertTransition] = field(default_factory=list)
    # How many alert rows were committed when -a showed each one: a follower shows a row before the next is written.
    committed_when_shown: list[int] = field(default_factory=list)
    committed_at_restart: int = 0  # alert rows committed when the killed monitor was restarted
    printer_lines_at_recovery: int = 0  # -p's lines when the restarted monitor's recovery row was committed
    last_probe_commit: float = 0.0  # epoch seconds


class CommitWatcher:
    """Polls `db` every 5 ms for the alert rows committed."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.rows: list[AlertTransition] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        reader = SqliteLogReader(self.db)
        cursor: Cursor = BEGINNING
        while not self._stop.wait(0.005):
            try:
                page = reader.transitions_after(cursor)
            except LogUnavailable:
                continue
            cursor = page.cursor
            self.rows.extend(page.events)
        reader.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _is_report_with_checks(text: str) -> bool:
    return text.startswith("http://127.0.0.1:")


@functools.cache
def readers_session() -> ReadersSession:
    workdir = Path(tempfile.mkdtemp(prefix="readers-"))
    atexit.register(shutil.rmtree, workdir, True)
    db = workdir / "m.db"
    with local_server() as server:
        site = server.url("/health")
        config = workdir / "config.json"
        config.write_text(json.dumps({
            "websites": [{"URL": site, "checkInterval": 0.5, "timeout": 0.5}],
            "alertWindow": 3, "reports": [{"every": 1, "windows": [5]}]}))
        monitor_args = ("-m", "--silent", "-c", str(config), "-db", str(db))
        notify = App("-a", "-db", str(db))
        printer = App("-p", "-c", str(config), "-db", str(db))
        session = ReadersSession(db, site, notify, printer, [])
        watcher = CommitWatcher(db)
        try:
            notify.wait_for_line(lambda t: t.startswith("waiting for"), timeout=10)
            printer.wait_for_line(lambda t: t.startswith("waiting for"), timeout=10)
            session.monitors.append(App(*monitor_args))
            printer.wait_for_line(_is_report_with_checks, timeout=10)
            server.healthy = False
            wait_until(lambda: watcher.rows, timeout=10, what="the alert row")
            notify.wait_for_line(lambda t: " alert " in t, timeout=5)
            session.committed_when_shown.append(len(watcher.rows))
            session.monitors[0].kill()
            session.committed_at_restart = len(watcher.rows)
            session.monitors.append(App(*monitor_args))
            server.healthy = True
            wait_until(lambda: len(watcher.rows) >= 2, timeout=15, what="the recovery row")
            session.printer_lines_at_recovery = len(printer.lines)
            notify.wait_for_line(lambda t: " recovery " in t, timeout=5)
            session.committed_when_shown.append(len(watcher.rows))
            status, stderr = session.monitors[1].stop(signal.SIGTERM)
            session.exits["monitor"] = Exited(status, stderr)
            session.last_probe_commit = time.time()
            # Let -p make reports after the last commit, so they are over rows that are all stored.
            start = len(printer.lines)

            def third_report_done() -> bool:
                titles = [n for n, (_, text) in enumerate(printer.lines) if n >= start and text.startswith("== past")]
                # A report is its title, the column names and the site's row.
                return len(titles) >= 3 and len(printer.lines) >= titles[2] + 3

            wait_until(third_report_done, timeout=6, what="3 whole reports after the last commit")
        finally:
            watcher.stop()
            for name, app in (("notify", notify), ("printer", printer)):
                status, stderr = app.stop(signal.SIGINT)
                session.exits[name] = Exited(status, stderr)
            for app in session.monitors:
                app.stop(signal.SIGKILL)
    session.alert_rows = watcher.rows
    return session
