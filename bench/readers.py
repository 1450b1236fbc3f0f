"""Readers' figures: `-a` on 100,000 alert rows (time to history printed and tail started), idle tailing CPU,
and the delay between an alert row's commit and `-a` printing it (real processes).

Run from the repo root: `.venv/bin/python -m bench.readers [runs]`. Prints medians of `runs` (default 5).

`.venv/bin/python -m bench.readers added-sites [runs]`: what a reload adding sites reads of them (their alert
state and certificate warnings, as `graph.monitor` reads them) on a log of 200,000 transitions of 1,000 sites,
for 1 to 3 sites and for every site, in process; medians of `runs` (default 7).
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

from bench.processes import App
from monitoringapp.domain.config import Config, SiteConfig
from monitoringapp.domain.events import AlertTransition, Probe, TransitionKind
from monitoringapp.graph.monitor import added_sites_alert_states, added_sites_warnings
from monitoringapp.store.sqlite.reader import SqliteLogReader
from monitoringapp.store.sqlite.schema import insert_events, open_for_writing

ROWS = 100_000
HOSTS = [f"http://site{n}.test/" for n in range(50)]
T0 = 1_790_000_000.0


def transition(n: int, at: float) -> AlertTransition:
    host = HOSTS[n % len(HOSTS)]
    if n % 2 == 0:
        return AlertTransition(at, host, TransitionKind.ALERT, 0.5, start=at)
    return AlertTransition(at, host, TransitionKind.RECOVERY, 0.9, start=at - 7, end=at)


def build(db: Path) -> None:
    connection = open_for_writing(db)
    connection.execute("BEGIN")
    insert_events(connection, [], [transition(n, T0 + n * 7.0) for n in range(ROWS)])
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
        connection = open_for_writing(db)
        while not stop.wait(1.0):
            insert_events(connection, [Probe(time.time(), HOSTS[0], True, 200, 1.0)])
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


def commit_to_print_delays(db: Path, rows: int = 20, every: float = 0.3) -> list[float]:
    """Seconds from each alert row's commit to `-a` printing it: `rows` rows committed `every` seconds."""
    app = App("-a", "-db", str(db))
    app.wait_for_line(lambda t: t.startswith("-- following"), timeout=30)
    connection = open_for_writing(db)
    committed: list[tuple[str, float]] = []
    for n in range(rows):
        time.sleep(every)
        row = transition(n, time.time())
        insert_events(connection, [], [row])  # autocommit: committed when this returns
        committed.append((f"{row.host} {row.kind.value}", time.monotonic()))
    connection.close()
    start = len(app.lines) - rows
    for key, _ in committed:
        def shows(text: str, key: str = key) -> bool:
            return key in text

        app.wait_for_line(shows, timeout=5, start=max(0, start))
    app.stop(signal.SIGINT)
    shown = [arrived for arrived, text in app.lines if " alert " in text or " recovery " in text]
    return [printed - at for printed, (_, at) in zip(shown[-rows:], committed, strict=True)]


ADDED_ROWS = 200_000
ADDED_HOSTS = [f"http://site{n}.test/" for n in range(1_000)]
_KINDS = (TransitionKind.ALERT, TransitionKind.RECOVERY, TransitionKind.ALERT, TransitionKind.RECOVERY,
          TransitionKind.SILENT, TransitionKind.CERTIFICATE)


def build_many_sites(db: Path, now: float) -> None:
    """ADDED_ROWS transitions of ADDED_HOSTS over the 30 days before `now`, each site's kinds in turn (alerts,
    recoveries, silences, certificate warnings): the certificate read of 14 days reaches half of them."""
    step = 30 * 86400 / ADDED_ROWS
    rows = []
    for n in range(ADDED_ROWS):
        at, host = now - 30 * 86400 + n * step, ADDED_HOSTS[n % len(ADDED_HOSTS)]
        kind = _KINDS[(n // len(ADDED_HOSTS)) % len(_KINDS)]
        if kind is TransitionKind.CERTIFICATE:  # start: the certificate's notAfter; end: when the warning fell due
            rows.append(AlertTransition(at, host, kind, None, start=now + 20 * 86400, end=at))
        else:
            rows.append(AlertTransition(at, host, kind, None if kind is TransitionKind.SILENT else 0.5, start=at - 60,
                                        end=at if kind is TransitionKind.RECOVERY else None))
    connection = open_for_writing(db)
    connection.execute("BEGIN")
    insert_events(connection, [], rows)
    connection.execute("COMMIT")
    connection.close()


def added_sites_reads(runs: int) -> None:
    """Seconds `added_sites_alert_states` (their last transitions, and their probes of the alert window: none in
    this log) and `added_sites_warnings` take for 1, 2, 3 and all of ADDED_HOSTS."""
    now = 1_790_000_000.0
    config = Config(sites=tuple(SiteConfig(url, 60, 5) for url in ADDED_HOSTS))
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "alerts.db"
        build_many_sites(db, now)
        reader = SqliteLogReader(db)
        cases = {f"{n} site(s)": frozenset(ADDED_HOSTS[7:7 + n]) for n in (1, 2, 3)}
        cases["every site"] = config.keys
        took: dict[str, tuple[list[float], list[float]]] = {case: ([], []) for case in cases}
        found: dict[str, tuple[int, int]] = {}
        try:
            for _ in range(runs):
                for case, added in cases.items():  # interleaved: the same machine load for every case
                    began = time.perf_counter()
                    states = added_sites_alert_states(reader, config, added, now)
                    read_states = time.perf_counter()
                    warnings = added_sites_warnings(reader, config, added, now)
                    took[case][0].append(read_states - began)
                    took[case][1].append(time.perf_counter() - read_states)
                    found[case] = (len(states.transitions), len(warnings.warnings))
                began = time.perf_counter()
                reader.last_transitions()  # hosts=None: every site's, as the alert history's start reads it
                took.setdefault("last_transitions(None)", ([], []))[0].append(time.perf_counter() - began)
        finally:
            reader.close()
    for case, (states_s, warnings_s) in took.items():
        states_found, warnings_found = found.get(case, (0, 0))
        print(f"{ADDED_ROWS:,} transitions of {len(ADDED_HOSTS):,} sites, {case}: alert states "
              f"{statistics.median(states_s) * 1000:.2f} ms ({states_found} found)"
              + (f", certificate warnings {statistics.median(warnings_s) * 1000:.2f} ms ({warnings_found} found)"
                 if warnings_s else "") + f" (median of {runs})")


def main() -> None:
    if sys.argv[1:2] == ["added-sites"]:
        added_sites_reads(int(sys.argv[2]) if len(sys.argv) > 2 else 7)
        return
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
    delays = []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "live.db"
            open_for_writing(db).close()
            delays += commit_to_print_delays(db)
    print(f"alert row committed -> printed by -a: median {statistics.median(delays) * 1000:.0f} ms, "
          f"max {max(delays) * 1000:.0f} ms ({len(delays)} rows, 3 sessions)")


if __name__ == "__main__":
    main()
