"""The SQLite log's writer on real files: batched probe rows, alert rows at once, and a killed writer's database."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reactivex.testing import TestScheduler

from bench.processes import REPO, wait_until
from monitoringapp.domain.events import AlertTransition, ErrorKind, Probe, TransitionKind, transition_id
from monitoringapp.store.log import LogLost, StoreError
from monitoringapp.store.sqlite.writer import SqliteEventLog

SITE = "http://site.test/"


def count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as reader:
        return int(reader.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_the_first_probe_is_committed_at_once_and_the_rest_in_one_batch_at_the_flush_interval(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    scheduler = TestScheduler()
    store = SqliteEventLog(path, flush_interval=1.0, scheduler=scheduler)
    try:
        scheduler.advance_to(0.25)
        store.append_probe(Probe(1000.0, SITE, True, 200, 1.5))
        scheduler.advance_to(0.251)  # due at 0.25, the flush 0.75 s away: a monitor started again shows it probes
        assert (count(path, "website_monitoring"), store.commits) == (1, 1)
        for i in range(1, 50):
            store.append_probe(Probe(1000.0 + i, SITE, True, 200, 1.5))
        scheduler.advance_to(0.999)
        assert (count(path, "website_monitoring"), store.commits) == (1, 1)  # not yet: batched
        scheduler.advance_to(1.0)
        assert count(path, "website_monitoring") == 50
        assert (store.commits, store.rows_written) == (2, 50)
        store.append_probe(Probe(1050.0, SITE, True, 200, 1.5))
        scheduler.advance_to(1.999)
        assert store.rows_written == 50
        scheduler.advance_to(2.0)  # and again one interval on
        assert (store.commits, store.rows_written) == (3, 51)
    finally:
        store.close()


def test_an_alert_row_is_committed_at_once_with_the_probes_before_it(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    scheduler = TestScheduler()
    store = SqliteEventLog(path, flush_interval=30.0, scheduler=scheduler)
    try:
        scheduler.advance_to(5.0)
        store.append_probe(Probe(1000.0, SITE, False, 500, 2.0))
        store.append_transition(AlertTransition(1000.0, SITE, TransitionKind.ALERT, 0.5, start=1000.0))
        scheduler.advance_to(5.001)  # the write was due at 5.0, with the flush 25 s away
        assert (count(path, "website_alerts"), count(path, "website_monitoring"), store.commits) == (1, 1, 1)
    finally:
        store.close()


def test_close_flushes_what_is_pending_and_rows_read_back_exactly(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    store = SqliteEventLog(path, flush_interval=30.0)
    store.append_probe(Probe(1_764_000_000.25, SITE, True, 200, 12.5))
    store.append_probe(Probe(1_764_000_002.25, SITE, False, None, None, ErrorKind.CONNECTION))
    store.append_transition(AlertTransition(1_764_000_002.25, SITE, TransitionKind.ALERT, 0.5,
                                            start=1_764_000_002.25))
    store.append_transition(AlertTransition(1_764_000_010.0, SITE, TransitionKind.RECOVERY, 2 / 3,
                                            start=1_764_000_002.25, end=1_764_000_010.0))
    store.append_probe(Probe(1_764_000_004.25, SITE, True, 301, 3.0))
    store.close()
    with sqlite3.connect(path) as reader:
        probes = reader.execute("SELECT * FROM website_monitoring ORDER BY timestamp").fetchall()
        alerts = reader.execute("SELECT * FROM website_alerts ORDER BY timestamp").fetchall()
    # Columns: the seed's, then errorKind, location, detail, id (in append order), certificateNotAfter.
    assert probes == [
        ("2025-11-24T16:00:00.250Z", SITE, 1, 200, 12.5, None, "local", None, 1, None),
        ("2025-11-24T16:00:02.250Z", SITE, 0, None, None, "connection", "local", None, 2, None),
        ("2025-11-24T16:00:04.250Z", SITE, 1, 301, 3.0, None, "local", None, 3, None),
    ]
    alert_id = transition_id(SITE, "local", "alert", 1_764_000_002.25)
    recovery_id = transition_id(SITE, "local", "recovery", 1_764_000_002.25)
    assert alerts == [
        ("2025-11-24T16:00:02.250Z", SITE, "alert", "2025-11-24T16:00:02.250Z", None, 0.5, "local", None, alert_id, 1),
        ("2025-11-24T16:00:10.000Z", SITE, "recovery", "2025-11-24T16:00:02.250Z", "2025-11-24T16:00:10.000Z",
         2 / 3, "local", None, recovery_id, 2),
    ]


def test_an_unusable_database_is_a_store_error_before_any_thread_starts(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    path.write_text("not a database")
    with pytest.raises(StoreError):
        SqliteEventLog(path)
    assert path.read_text() == "not a database"


_WRITER = """
import sys, time
from monitoringapp.domain.events import AlertTransition, Probe, TransitionKind
from monitoringapp.store.sqlite.writer import SqliteEventLog
store = SqliteEventLog(sys.argv[1], flush_interval=0.05)
store.append_transition(AlertTransition(0.0, "http://a.test/", TransitionKind.ALERT, 0.5, start=0.0))
sequence, last = 0, -1
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    for _ in range(500):
        store.append_probe(Probe(1000.0 + sequence / 1000, "http://a.test/", True, 200, float(sequence)))
        sequence += 1
    if store.rows_written != last:
        last = store.rows_written
        print(last, flush=True)
    time.sleep(0.002)
"""


@pytest.mark.slow
def test_a_killed_writer_leaves_a_readable_database_with_every_committed_row(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None
        reported = 0
        deadline = time.monotonic() + 15
        while reported < 20_000 and time.monotonic() < deadline:
            line = writer.stdout.readline()
            if not line:
                break
            reported = int(line)
        assert reported >= 20_000, "the writer did not get going"
        writer.send_signal(signal.SIGKILL)
        rest, _ = writer.communicate(timeout=10)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait(5)
    assert writer.returncode == -signal.SIGKILL
    committed = max([reported, *map(int, rest.split())])
    with sqlite3.connect(path) as reader:
        assert reader.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        sequence = [int(v) for (v,) in reader.execute("SELECT responseTime FROM website_monitoring ORDER BY rowid")]
        alerts = reader.execute("SELECT type FROM website_alerts").fetchall()
    assert alerts == [("alert",)]
    # Every row the writer saw committed is there, in order, with no gap and no half batch.
    assert len(sequence) + 1 >= committed
    assert sequence == list(range(len(sequence)))


def test_a_full_disk_keeps_the_batches_said_once_and_writes_them_when_space_is_freed(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    scheduler = TestScheduler()
    store = SqliteEventLog(path, flush_interval=1.0, scheduler=scheduler)
    errors: list[str] = []
    store.errors.subscribe(errors.append)
    try:
        # The file may not grow any more: SQLite fails the write as on a full disk, and rolls it back itself.
        pages = store._connection.execute("PRAGMA page_count").fetchone()[0]
        store._connection.execute(f"PRAGMA max_page_count = {pages}")
        for second in range(3):  # a batch a second, none of which fits
            for i in range(200):
                store.append_probe(Probe(1000.0 + second + i / 1000, SITE * 10, True, 200, 1.5))
            store.append_transition(AlertTransition(1000.0 + second, SITE, TransitionKind.ALERT, 0.5,
                                                    start=1000.0 + second))
            scheduler.advance_to(second + 1.0)
        assert count(path, "website_monitoring") == 0
        assert errors == [f"error: {path}: database or disk is full; the batch is kept and tried again"]
        store._connection.execute("PRAGMA max_page_count = 1073741823")  # space freed
        scheduler.advance_to(4.0)
        assert (count(path, "website_monitoring"), count(path, "website_alerts")) == (600, 3)
        assert errors[1:] == [f"{path}: written again; the 600 probe(s) and 3 alert row(s) waiting are stored"]
    finally:
        store.close()
    with sqlite3.connect(path) as reader:
        assert reader.execute("SELECT sum(checks) FROM website_rollups_minute").fetchone() == (600,)


def test_a_stopping_writer_whose_disk_is_full_says_what_it_could_not_store(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    store = SqliteEventLog(path, flush_interval=30.0, scheduler=TestScheduler())
    errors: list[str] = []
    store.errors.subscribe(errors.append)
    pages = store._connection.execute("PRAGMA page_count").fetchone()[0]
    store._connection.execute(f"PRAGMA max_page_count = {pages}")
    for i in range(500):
        store.append_probe(Probe(1000.0 + i, SITE * 10, True, 200, 1.5))
    store.append_transition(AlertTransition(1500.0, SITE, TransitionKind.ALERT, 0.5, start=1500.0))
    store.close()
    assert errors == [f"error: {path}: database or disk is full; 500 probe(s) and 1 alert row(s) not stored"]


# ---- files beside the database, one writer, a database deleted under the writer ---------------------------


def test_closing_the_log_leaves_the_database_alone_in_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    store = SqliteEventLog(path, flush_interval=30.0)
    assert list(store.probes_since(None).events) == []  # the monitor's own reader is open too
    store.append_probe(Probe(1000.0, SITE, True, 200, 1.5))
    store.close()
    # The last connection to close checkpoints the WAL and removes -wal and -shm; the lock goes with it.
    assert [p.name for p in tmp_path.iterdir()] == ["m.db"]
    assert count(path, "website_monitoring") == 1


def test_a_second_writer_on_the_same_database_is_refused_naming_the_first(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    first = SqliteEventLog(path, flush_interval=0.05)
    try:
        with pytest.raises(StoreError) as refused:
            SqliteEventLog(path)
        assert re.fullmatch(rf"{path} is already being written by process {os.getpid()} "
                            r"\(started \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\)", str(refused.value)), refused.value
        first.append_transition(AlertTransition(1000.0, SITE, TransitionKind.ALERT, 0.5, start=1000.0))
        wait_until(lambda: count(path, "website_alerts") == 1, timeout=3.0, what="the first writer's row")
    finally:
        first.close()
    SqliteEventLog(path).close()  # free again once the first has closed


def test_a_second_writer_through_a_symbolic_link_to_the_database_is_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    link = tmp_path / "link.db"
    link.symlink_to(path.name)
    first = SqliteEventLog(path, flush_interval=0.05)
    try:
        with pytest.raises(StoreError, match=rf"^{link} is already being written by process {os.getpid()} "):
            SqliteEventLog(link)
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".lock")) == ["m.db.lock"]
    finally:
        first.close()
    second = SqliteEventLog(link)  # the link's writer holds the target's lock, so one on the target is refused
    try:
        with pytest.raises(StoreError, match=rf"^{path} is already being written by process {os.getpid()} "):
            SqliteEventLog(path)
    finally:
        second.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.db", "m.db"]


@pytest.mark.slow  # the writer's busy timeout (5 s) has to run out once
def test_a_batch_the_database_was_too_busy_to_take_is_written_with_the_next_one(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    store = SqliteEventLog(path, flush_interval=0.05)
    errors: list[str] = []
    store.errors.subscribe(errors.append)
    vacuum = sqlite3.connect(path, isolation_level=None)  # as a --purge --vacuum holds the write lock
    try:
        vacuum.execute("BEGIN IMMEDIATE")
        store.append_probe(Probe(1000.0, SITE, False, 503, 1.5))
        store.append_transition(AlertTransition(1000.0, SITE, TransitionKind.ALERT, 0.0, start=1000.0))
        wait_until(lambda: errors, timeout=10.0, what="the busy database said")
        store.append_probe(Probe(1001.0, SITE, True, 200, 1.5))
        vacuum.execute("COMMIT")
        wait_until(lambda: count(path, "website_monitoring") == 2, timeout=10.0, what="both probes")
    finally:
        vacuum.close()
        store.close()
    assert errors[0] == f"error: {path}: database is locked; the batch is kept and tried again"
    # The probe appended while the batch waited goes in with it, or with the next batch.
    assert re.fullmatch(rf"{path}: written again; the [12] probe\(s\) and 1 alert row\(s\) waiting are stored",
                        errors[1]) and len(errors) == 2, errors
    assert count(path, "website_alerts") == 1
    with sqlite3.connect(path) as reader:
        assert reader.execute("SELECT sum(checks), sum(available) FROM website_rollups_minute").fetchone() == (2, 1)


def test_a_database_busy_for_long_keeps_only_the_newest_probes_waiting_and_says_how_many_went(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    store = SqliteEventLog(path, flush_interval=0.05, busy_timeout=0.05)
    store.held_at_most = 2
    errors: list[str] = []
    store.errors.subscribe(errors.append)
    vacuum = sqlite3.connect(path, isolation_level=None)
    try:
        vacuum.execute("BEGIN IMMEDIATE")
        for second in range(3):
            store.append_probe(Probe(1000.0 + second, SITE, True, 200, 1.5))
        wait_until(lambda: any("dropped" in error for error in errors), timeout=10.0, what="the drop said")
        vacuum.execute("COMMIT")
        wait_until(lambda: count(path, "website_monitoring") == 2, timeout=10.0, what="the two kept probes")
    finally:
        vacuum.close()
        store.close()
    dropped = f"error: {path}: still busy; the 1 oldest probes waiting for it are dropped (at most 2 wait in memory)"
    assert dropped in errors
    with sqlite3.connect(path) as reader:
        assert reader.execute("SELECT timestamp FROM website_monitoring ORDER BY timestamp").fetchall() == [
            ("1970-01-01T00:16:41.000Z",), ("1970-01-01T00:16:42.000Z",)]
        assert reader.execute("SELECT sum(checks) FROM website_rollups_minute").fetchone() == (2,)


_HOLDER = """
import sys, time
from monitoringapp.store.sqlite.writer import SqliteEventLog
store = SqliteEventLog(sys.argv[1])
print("holding", flush=True)
time.sleep(30)
"""


@pytest.mark.slow
def test_the_lock_of_a_killed_writer_never_blocks_a_new_one(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        with pytest.raises(StoreError, match=rf"already being written by process {holder.pid} "):
            SqliteEventLog(path)
        holder.kill()
        holder.wait(5)
    finally:
        holder.kill()
    assert (tmp_path / "m.db.lock").exists()  # left by the kill, and no obstacle
    SqliteEventLog(path).close()


def test_the_database_deleted_under_the_writer_is_reported_at_the_next_check(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    scheduler = TestScheduler()
    store = SqliteEventLog(path, flush_interval=0.05, scheduler=scheduler)
    lost: list[LogLost] = []
    store.lost.subscribe(lost.append)
    try:
        store.append_probe(Probe(1000.0, SITE, True, 200, 1.5))
        scheduler.advance_to(2.5)  # checks at 1 and 2 s
        assert count(path, "website_monitoring") == 1
        assert lost == []  # nothing said while the file is there
        path.unlink()
        scheduler.advance_to(2.999)
        assert lost == []
        scheduler.advance_to(3.0)  # the next check, IDENTITY_CHECK_EVERY after the last
        assert [str(error) for error in lost] == [
            f"{path} was deleted or replaced while this monitor wrote to it; stopped so that no probe is lost "
            "without a word (start it again to write a new database)"]
        scheduler.advance_to(10.0)
        assert len(lost) == 1  # said once
    finally:
        store.close()
