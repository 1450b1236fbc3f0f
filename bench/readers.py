"""Readers' figures: `-a` on 100,000 alert rows (time to history printed and tail started), idle tailing CPU,
and the delay between an alert row's commit and `-a` printing it (real processes, see tests/app).

Run from the repo root: `.venv/bin/python -m bench.readers [runs]`. Prints medians of `runs` (default 5).
"""

from __future__ import annotations

import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from domain.events import AlertTransition, Probe, TransitionKind
from store.schema import alert_row, open_store, probe_row
from tests.app.readers_session import readers_session
from tests.processes import App

ROWS = 100_000
HOSTS = [f"http://site{n}.test/" for n in range(50)]
T0 = 1_790_000_000.0


def build(db: Path) -> None:
    connection = open_store(db)
    rows = []
    for n in range(ROWS):
        host, at = HOSTS[n % len(HOSTS)], T0 + n * 7.0
        if n % 2 == 0:
            rows.append(alert_row(AlertTransition(at, host, TransitionKind.ALERT, 0.5, start=at)))
        else:
            rows.append(alert_row(AlertTransition(at, host, TransitionKind.RECOVERY, 0.9, start=at - 7, end=at)))
    connection.execute("BEGIN")
    connection.executemany("INSERT INTO website_alerts VALUES (?, ?, ?, ?, ?, ?)", rows)
    connection.execute("COMMIT")
    connection.close()


def time_to_tail(db: Path, *extra: str) -> float:
    started = time.monotonic()
    app = App("-a", "-db", str(db), *extra)
    arrived, _ = app.wait_for_line(lambda t: t.startswith("-- following"), timeout=30)
    app.stop(signal.SIGINT)
    return arrived - started


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(db: Path, seconds: float, writer: bool) -> float:
    """Share of one core `-a` uses while following `db` for `seconds` (with a probe commit a second if `writer`)."""
    app = App("-a", "-db", str(db))
    app.wait_for_line(lambda t: t.startswith("-- following"), timeout=30)
    stop = threading.Event()

    def write_probes() -> None:
        connection = open_store(db)
        while not stop.wait(1.0):
            connection.execute("INSERT INTO website_monitoring VALUES (?, ?, ?, ?, ?, ?)",
                               probe_row(Probe(time.time(), HOSTS[0], True, 200, 1.0)))
        connection.close()

    thread = threading.Thread(target=write_probes, daemon=True)
    if writer:
        thread.start()
    before, start = cpu_seconds(app.process.pid), time.monotonic()
    time.sleep(seconds)
    used, elapsed = cpu_seconds(app.process.pid) - before, time.monotonic() - start
    stop.set()
    app.stop(signal.SIGINT)
    return used / elapsed


def commit_to_print_delays() -> list[float]:
    """Seconds from each alert row's commit (seen by polling the database) to `-a` printing it, in one session."""
    session = readers_session.__wrapped__()
    delays = []
    for row, committed in zip(session.alert_rows, session.committed_at, strict=True):
        shown = next(arrived for arrived, text in session.notify.lines
                     if text.split()[1:3] == [row.host, row.kind.value])
        delays.append(shown - committed)
    return delays


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "alerts.db"
        build(db)
        full = [time_to_tail(db) for _ in range(runs)]
        one_site = [time_to_tail(db, "--site", HOSTS[3]) for _ in range(runs)]
        print(f"-a, {ROWS} rows, history printed + tail started (incl. interpreter start): "
              f"median {statistics.median(full):.3f}s over {runs} runs (max {max(full):.3f}s)")
        print(f"-a --site (2,000 rows): median {statistics.median(one_site):.3f}s")
        print(f"idle tail, no writes: {idle_cpu(db, 10, writer=False) * 100:.3f}% of a core over 10 s")
        print(f"tail while a writer commits probe rows every second: "
              f"{idle_cpu(db, 10, writer=True) * 100:.3f}% of a core over 10 s")
    delays = [delay for _ in range(3) for delay in commit_to_print_delays()]
    print(f"alert row committed -> printed by -a: median {statistics.median(delays) * 1000:.0f} ms, "
          f"max {max(delays) * 1000:.0f} ms ({len(delays)} rows, 3 sessions)")


if __name__ == "__main__":
    main()
