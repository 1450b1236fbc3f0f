#!/usr/bin/env python3
"""How fast the database grows, and what a purge of a million rows costs.

    .venv/bin/python bench/db_growth_purge.py [--rows 1000000] [--runs 3] [--dir /tmp]

Growth: N probe rows written through the real log (`SqliteEventLog`, WAL,
batched commits), 10 sites with realistic URLs, then the file size after a
checkpoint, so bytes/row includes the timestamp index and page slack.

Purge: a fresh database of N rows older than the cutoff and N/10 newer ones; the N deleted with
`store.sqlite.purge.purge_before` (5,000 rowids per transaction) while a writer
thread commits one probe row every 50 ms the way the monitor's writer does;
reports the wall time, the longest single lock hold, the writer's longest
wait for its commit, and how long a VACUUM afterwards takes. Medians of `--runs`.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from monitoringapp.domain.events import Probe
from monitoringapp.store.sqlite.purge import purge_before
from monitoringapp.store.sqlite.schema import PROBE_TABLE, connect, insert_events, open_for_writing
from monitoringapp.store.sqlite.writer import SqliteEventLog

SITES = [f"https://service-{i}.example.com/health" for i in range(10)]
INTERVAL = 2.0
DAY = 86400.0


def probes(count: int, start: float) -> list[Probe]:
    """`count` probes of the 10 sites, one round every 2 s from `start`; 1 in 50 failed."""
    rows = []
    for n in range(count):
        round_, site = divmod(n, len(SITES))
        failed = n % 50 == 0
        rows.append(Probe(start + round_ * INTERVAL + site * 0.013, SITES[site], not failed,
                          None if failed else 200, None if failed else 40.0 + (n % 977) / 7.0, None))
    return rows


def file_size(path: Path) -> int:
    connection = connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return path.stat().st_size


def growth(directory: Path, rows: int) -> float:
    path = directory / "growth.db"
    store = SqliteEventLog(path)
    for probe in probes(rows, time.time() - DAY):
        store.append_probe(probe)
    store.close()
    size = file_size(path)
    path.unlink()
    return size / rows


def filled(directory: Path, rows: int) -> Path:
    path = directory / "purge.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    connection = open_for_writing(path)
    connection.execute("BEGIN")
    insert_events(connection, probes(rows, time.time() - 30 * DAY))
    # The recent tenth that stays, so VACUUM has something to copy.
    insert_events(connection, probes(rows // 10, time.time() - 6 * 3600))
    connection.execute("COMMIT")
    connection.close()
    return path


class Writer(threading.Thread):
    """The monitor's writer, in small: one committed probe row every 50 ms, timing each commit."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.connection = connect(path)
        self.stop = threading.Event()
        self.longest = 0.0
        self.commits = 0

    def run(self) -> None:
        while not self.stop.wait(0.05):
            began = time.perf_counter()
            self.connection.execute("BEGIN IMMEDIATE")
            insert_events(self.connection, [Probe(time.time(), SITES[0], True, 200, 42.0)])
            self.connection.execute("COMMIT")
            self.longest = max(self.longest, time.perf_counter() - began)
            self.commits += 1
        self.connection.close()


def purge_run(directory: Path, rows: int) -> dict[str, float]:
    path = filled(directory, rows)
    size_before = file_size(path)
    writer = Writer(path)
    writer.start()
    connection = connect(path)
    began = time.perf_counter()
    stats = purge_before(connection, PROBE_TABLE, time.time() - DAY)
    wall = time.perf_counter() - began
    writer.stop.set()
    writer.join()
    assert stats.deleted == rows, stats
    began = time.perf_counter()
    connection.execute("VACUUM")
    vacuum = time.perf_counter() - began
    connection.close()
    return {"wall_s": wall, "batches": stats.batches, "longest_lock_ms": stats.longest_lock * 1000,
            "writer_longest_commit_ms": writer.longest * 1000, "writer_commits": writer.commits,
            "vacuum_s": vacuum, "size_before_mb": size_before / 1e6, "size_after_mb": file_size(path) / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where the database files go (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as temp:
        directory = Path(temp)
        per_row = statistics.median(growth(directory, args.rows) for _ in range(args.runs))
        rows_per_day = DAY / INTERVAL
        print(f"growth: {per_row:.1f} bytes/row -> {per_row * rows_per_day / 1e6:.2f} MB per site per day "
              f"at a {INTERVAL:g} s interval ({rows_per_day:.0f} rows), URL of {len(SITES[0])} characters")
        runs = [purge_run(directory, args.rows) for _ in range(args.runs)]
        for run in runs:
            print("  run: " + ", ".join(f"{k}={v:.3g}" for k, v in run.items()))
        medians = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        print(f"purge of {args.rows} rows (median of {args.runs}): " +
              ", ".join(f"{k}={v:.3g}" for k, v in medians.items()))
        print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
