"""The restart run: a real `-m` started on stored 1-second probes of N sites, by default an hour and a quarter of them
(4.5 M rows for 1,000): the hour the report windows read, and before it the past a monitor that ran longer left, of
which a restart reads each site's last success, last failure and failing run (`last_outcomes`).

The database is built synthetically (the rows a monitor of those sites would have stored up to the start), then
copied for each run, so every run starts on the same past; how far it reaches before each run's hour
(`past_before_hour_s`: `--restart-past-hours` less the hour, and the minutes since it was written) is told. The
monitor probes the same sites on a local target server. Measured: the time from start to the first new probe the
target server serves (probing has resumed) and to the first one stored (committed, at the writer's next flush), the
time to have the whole past in the report windows (the monitor's `--metrics`), and the process's peak resident
memory (VmHWM) and its resident memory then (VmRSS: the hour's windows full), read once the past is loaded and the
run has gone on a while. The peak counts the child process that reads the past beside the monitor's (the largest
child's peak, read every 0.1 s while it lives: it has ended by then).
"""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.capacity import REPO, write_config
from bench.processes import check_monitor_exit, stop_process
from bench.procstat import children, peak_rss_mb, rss_mb
from bench.target_server import TargetServer
from monitoringapp.domain.timefmt import iso_utc, parse_iso
from monitoringapp.store.sqlite.rollups import rebuild
from monitoringapp.store.sqlite.schema import INSERT_PROBE, ProbeRow, open_for_writing

Figures = dict[str, Any]


def write_past(path: Path, urls: list[str], seconds: int, until: float, seed: int = 15) -> int:
    """`seconds` of 1-second probes of `urls` up to `until`, as a monitor stores them: mostly 200, some 5xx,
    a few timeouts. Returns the rows written."""
    rng = random.Random(seed)
    connection = open_for_writing(path)
    rows = 0
    connection.execute("BEGIN")
    for second in range(seconds, 0, -1):
        stamp = iso_utc(round(until) - second)
        batch: list[ProbeRow] = []
        for url in urls:
            draw = rng.random()
            if draw < 0.01:
                batch.append((stamp, url, 0, None, None, "timeout", "local", None, None))
            elif draw < 0.03:
                batch.append((stamp, url, 0, 503, 1.0 + draw, None, "local", None, None))
            else:
                batch.append((stamp, url, 1, 200, 0.3 + draw * 2, None, "local", None, None))
        connection.executemany(INSERT_PROBE, batch)
        rows += len(batch)
    connection.execute("COMMIT")
    connection.close()
    return rows


def _first_new_row(db: Path, after_rowid: int, deadline: float) -> float | None:
    """Poll `db` until a row beyond `after_rowid` is committed; the monotonic time it was seen."""
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.05) as connection:
                row = connection.execute("SELECT max(rowid) FROM website_monitoring").fetchone()
            if row[0] is not None and row[0] > after_rowid:
                return time.monotonic()
        except sqlite3.OperationalError:
            pass
        time.sleep(0.01)
    return None


def _first_new_request(server: TargetServer, deadline: float) -> float | None:
    """Poll `server` until it serves a request besides the polls; the monotonic time it was seen."""
    before = server.served()
    while time.monotonic() < deadline:
        if server.served() > before:
            return time.monotonic()
        time.sleep(0.005)
    return None


def _children_peak_rss_mb(pid: int, until: float) -> float:
    """The largest peak resident memory of the children of `pid` seen until the monotonic time `until`: each
    found by a walk of /proc once a second (a walk costs 15 ms here), its peak read every 0.1 s while it lives."""
    peaks: dict[int, float] = {}
    walked = 0.0
    while (now := time.monotonic()) < until:
        if now - walked >= 1.0:
            peaks.update((child, peaks.get(child, 0.0)) for child in children(pid))
            walked = now
        for child in peaks:
            with contextlib.suppress(OSError):  # it has ended: its last peak read stands
                peaks[child] = peak_rss_mb(child)
        time.sleep(0.1)
    return max(peaks.values(), default=0.0)


def run_restart(server: TargetServer, past: Path, sites: int, seconds: float) -> Figures:
    """One restart on a copy of `past`: start `-m`, time the first new stored probe, run `seconds`, stop."""
    with sqlite3.connect(f"file:{past}?mode=ro", uri=True) as connection:
        oldest = connection.execute("SELECT min(timestamp) FROM website_monitoring").fetchone()[0]
    with tempfile.TemporaryDirectory(prefix="bench-restart-") as scratch:
        work = Path(scratch)
        db, config, metrics = work / "monitoring.db", work / "config.json", work / "metrics.json"
        shutil.copyfile(past, db)
        with sqlite3.connect(db) as connection:
            last_rowid = connection.execute("SELECT max(rowid) FROM website_monitoring").fetchone()[0]
        write_config(config, [server.url(i) for i in range(sites)], 1.0)
        command = [sys.executable, str(REPO / "monitoringApp.py"), "-m", "--silent", "--metrics", str(metrics),
                   "-c", str(config), "-db", str(db)]
        started, began = time.monotonic(), time.time()
        process = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE)
        try:
            sent = _first_new_request(server, started + 60)
            seen = _first_new_row(db, last_rowid, started + 60)
            child_peak = _children_peak_rss_mb(process.pid, started + seconds)
            peak, now = peak_rss_mb(process.pid), rss_mb(process.pid)
        finally:
            stop_process(process, 30.0)
        check_monitor_exit(process)
        figures = json.loads(metrics.read_text())
        # Sent: probing has resumed; stored: committed too, which waits for the writer's next flush (1 s).
        return {"first_probe_sent_s": round(sent - started, 3) if sent is not None else None,
                "first_probe_stored_s": round(seen - started, 3) if seen is not None else None,
                "past_loaded_s": figures["past"]["loaded_s"], "past_probes": figures["past"]["probes"],
                "peak_rss_mb": round(peak + child_peak, 1), "monitor_peak_rss_mb": round(peak, 1),
                "child_peak_rss_mb": round(child_peak, 1), "rss_at_end_mb": round(now, 1), "ticks": figures["ticks"],
                "skipped": figures["skipped"],
                "past_before_hour_s": round(began - 3600 - parse_iso(oldest)),
                "lateness_ms": figures["lateness_ms"], "run_s": seconds}


PAST_HOURS = 1.25
"""Hours of stored probes a restart run starts on: the hour the report windows read and a quarter of an hour before
it (every site has failed in it: each site's last failure before the hour is looked up in it)."""


def restart_runs(sites: int, runs: int, seconds: float, prefer_nginx: bool = True,
                 delay_ms: float = 0.0, past_hours: float = PAST_HOURS) -> Figures:
    """`runs` restarts of a monitor of `sites` sites on `past_hours` of their stored 1-second probes; the sites
    answer after `delay_ms` when given (the Python target server then)."""
    with TargetServer(prefer_nginx=prefer_nginx and not delay_ms, delay_ms=delay_ms) as server, \
            tempfile.TemporaryDirectory(prefix="bench-restart-past-") as scratch:
        past = Path(scratch) / "past.db"
        began = time.monotonic()
        rows = write_past(past, [server.url(i) for i in range(sites)], round(past_hours * 3600), time.time())
        # The rollups a monitor keeps beside its probes: without them the restart would first rebuild them
        # (once, as for a file from before rollups), and that is not what a restart costs.
        connection = open_for_writing(past)
        try:
            rebuild(connection)
        finally:
            connection.close()
        print(f"  restart: {rows:,} stored rows and their rollups written in {time.monotonic() - began:.1f} s",
              file=sys.stderr)
        results = []
        for n in range(runs):
            results.append(run_restart(server, past, sites, seconds))
            print(f"  restart run {n + 1}/{runs}: {results[-1]}", file=sys.stderr, flush=True)
        return {"sites": sites, "stored_rows": rows, "past_hours": past_hours, "target_server": server.kind,
                "far_ms": delay_ms, "runs": results}
