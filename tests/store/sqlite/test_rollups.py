"""Rollups on real files: written with the probes they count, rebuilt when missing, kept after a purge of raw
probes, pruned on their own retention, read back per step."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from reactivex.scheduler import HistoricalScheduler
from reactivex.testing import TestScheduler

from bench.processes import REPO
from monitoringapp.domain.events import ErrorKind, Probe
from monitoringapp.operators.rollup import DAY, HOUR, MINUTE, ResponseSketch, encode_outcomes, rollups_of
from monitoringapp.store.sqlite import rollups
from monitoringapp.store.sqlite.purge import purge_log
from monitoringapp.store.sqlite.reader import SqliteLogReader
from monitoringapp.store.sqlite.retention import start_retention
from monitoringapp.store.sqlite.rollups import MINUTE_KEEP
from monitoringapp.store.sqlite.schema import (
    SCHEMA_VERSION,
    insert_events,
    probe_from_row,
    select_columns,
    write_transaction,
)
from monitoringapp.store.sqlite.writer import SqliteEventLog

A, B = "http://a.test/", "http://b.test/"
NOW = 1_796_040_000.0  # 2026-11-30T12:00:00Z, a whole day


def probes(hosts: tuple[str, ...], start: float, count: int, every: float) -> list[Probe]:
    made = []
    for n in range(count):
        for host in hosts:
            if n % 7 == 0:
                made.append(Probe(start + n * every, host, False, None, None, ErrorKind.TIMEOUT))
            else:
                made.append(Probe(start + n * every, host, n % 5 != 0, 200 if n % 5 else 500, 10.0 + n % 13))
    return made


def write(path: Path, events: list[Probe]) -> None:
    log = SqliteEventLog(path, flush_interval=0.05)
    for probe in events:
        log.append_probe(probe)
    log.close()


def table(path: Path, name: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as connection:
        return connection.execute(f"SELECT * FROM {name} ORDER BY host, start").fetchall()


def test_each_probe_is_counted_once_in_the_minute_and_the_hour_rows(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    written = probes((A, B), NOW - 2 * HOUR, 720, 10.0)
    write(path, written)
    for name in ("website_rollups_minute", "website_rollups_hour"):
        rows = table(path, name)
        assert sum(int(row[2]) for row in rows) == len(written), name  # checks
        assert sum(int(row[3]) for row in rows) == sum(p.available for p in written), name
    minutes = table(path, "website_rollups_minute")
    assert len(minutes) == 2 * 120 and {row[1] % 60 for row in minutes} == {0}
    reader = SqliteLogReader(path)
    try:
        page = reader.rollups(NOW - 2 * HOUR, NOW, HOUR, {A}, detail=True)
        assert [(r.host, r.start, r.checks) for r in page.events] == [(A, NOW - 2 * HOUR, 360), (A, NOW - HOUR, 360)]
        hour = page.events[0]
        assert hour.outcomes == {"200": 247, "500": 61, "timeout": 52}
        assert (hour.rt_min, hour.rt_max) == (10.0, 22.0)
        sums = reader.rollups(NOW - 2 * HOUR, NOW, 2 * HOUR, {A}).events
        assert [(r.checks, r.available, r.rt_count) for r in sums] == [(720, 494, 617)]
        assert sums[0].sketch.total == 0, "sums only without detail"
        quarter = reader.rollups(NOW - 2 * HOUR, NOW, 15 * MINUTE).events
        assert len(quarter) == 2 * 8 and {r.checks for r in quarter} == {90}
    finally:
        reader.close()


def test_after_the_wall_clock_is_stepped_back_15_days_the_writer_goes_on_counting_minutes(tmp_path: Path) -> None:
    # A monitor that ran with its clock 15 days ahead, corrected by NTP, goes on writing (streams.wall_clock). The
    # writer took the newest time it had seen as now: every minute of the probes after the step was more than the
    # 14 days minute rows are kept before it, and not counted until the monitor restarted.
    path = tmp_path / "m.db"
    ahead, stepped = probes((A,), NOW + 15 * DAY, 6, 10.0), probes((A,), NOW, 12, 10.0)
    write(path, ahead + stepped)  # in one batch or two: the same rows
    minutes = table(path, "website_rollups_minute")
    assert [(row[1], row[2]) for row in minutes] == [(NOW, 6), (NOW + 60, 6), (NOW + 15 * DAY, 6)]


def test_a_reader_sees_the_rollups_and_the_probes_of_one_commit_together(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    log = SqliteEventLog(path, flush_interval=0.01)
    stop = threading.Event()

    def append() -> None:
        n = 0
        while not stop.is_set() and n < 20_000:
            log.append_probe(Probe(NOW + n * 0.5, A, True, 200, 1.0))
            n += 1
            if n % 50 == 0:
                stop.wait(0.002)

    writer = threading.Thread(target=append)
    writer.start()
    reader = SqliteLogReader(path, busy_timeout=1.0)
    checked = 0
    try:
        connection = sqlite3.connect(path)
        while writer.is_alive() and checked < 40:
            page = reader.rollups(NOW - DAY, NOW + DAY, DAY)
            counted = sum(r.checks for r in page.events)
            stored = connection.execute("SELECT count(*) FROM website_monitoring WHERE id <= ?",
                                        (page.cursor.position,)).fetchone()[0]
            assert counted == stored
            checked += counted > 0
        connection.close()
    finally:
        stop.set()
        writer.join()
        log.close()
        reader.close()
    assert checked > 5


def without_rollups(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[tuple[object, ...]], ...]:
    """1,000 probes written at `path`, their rollups then dropped as a file from before schema 3 has none,
    rebuilt 300 probes a chunk; the minute and hour rows as the writer made them."""
    write(path, probes((A, B), NOW - 3 * HOUR, 500, 20.0))
    written = table(path, "website_rollups_minute"), table(path, "website_rollups_hour")
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE website_rollups_minute")
        connection.execute("DROP TABLE website_rollups_hour")
        connection.execute("PRAGMA user_version = 2")
    monkeypatch.setattr(rollups, "REBUILD_CHUNK", 300)
    return written


def test_missing_rollups_are_rebuilt_from_the_raw_probes_exactly_as_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.db"
    minutes, hours = without_rollups(path, monkeypatch)
    told: list[tuple[int, int]] = []
    log = SqliteEventLog(path, rebuild_progress=lambda done, total: told.append((done, total)))
    log.close()
    assert log.rebuilt_probes == 1000
    assert told == [(0, 1000), (300, 1000), (600, 1000), (900, 1000), (1000, 1000)]  # what a progress bar is told
    assert table(path, "website_rollups_minute") == minutes
    assert table(path, "website_rollups_hour") == hours
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    again = SqliteEventLog(path)
    again.close()
    assert again.rebuilt_probes == 0, "rollups that are there are kept"


def test_a_rebuild_stopped_halfway_is_done_again_at_the_next_opening(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.db"
    minutes, hours = without_rollups(path, monkeypatch)

    def stopped(done: int, total: int) -> None:  # Ctrl-C (or a kill) after the first chunk's commit
        if done > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        SqliteEventLog(path, rebuild_progress=stopped)
    assert 0 < sum(row[2] for row in table(path, "website_rollups_hour")) < 1000  # a part counted
    log = SqliteEventLog(path)
    log.close()
    assert log.rebuilt_probes == 1000
    assert table(path, "website_rollups_minute") == minutes
    assert table(path, "website_rollups_hour") == hours
    again = SqliteEventLog(path)
    again.close()
    assert again.rebuilt_probes == 0, "a rebuild that finished is not done again"


def test_purging_raw_probes_keeps_the_rollups(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    write(path, probes((A,), NOW - 10 * DAY, 1000, 600.0))
    steps = list(purge_log(path, NOW))
    assert steps[0].stats.deleted == 1000
    reader = SqliteLogReader(path)
    try:
        assert reader.probes_since(None).events == []
        days = reader.rollups(NOW - 11 * DAY, NOW + DAY, DAY).events
        assert sum(d.checks for d in days) == 1000
    finally:
        reader.close()


def test_minute_rows_go_after_14_days_and_hour_rows_after_their_retention(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    ages = [40, 20, 13, 1]
    write(path, [Probe(NOW - age * DAY, A, True, 200, 1.0) for age in ages] + [Probe(NOW, A, True, 200, 1.0)])
    minute_ages = sorted(round((NOW - row[1]) / DAY) for row in table(path, "website_rollups_minute"))
    assert minute_ages == [0, 1, 13], "minute rows older than 14 days are not even written"
    clock = HistoricalScheduler(datetime.fromtimestamp(NOW, UTC))
    errors: list[str] = []
    keep = [30 * DAY]
    retention = start_retention(path, lambda: None, clock, errors.append, first_after=5,
                                latest_rollup_retention=lambda: keep[0])
    clock.advance_to(datetime.fromtimestamp(NOW + 10, UTC))
    hours = sorted(round((NOW - row[1]) / DAY) for row in table(path, "website_rollups_hour"))
    assert hours == [0, 1, 13, 20], "the 40-day-old hour went with a 30-day rollupRetention"
    clock.advance_to(datetime.fromtimestamp(NOW + 2 * DAY, UTC))
    retention.dispose()
    minutes = sorted(round((NOW + 2 * DAY - row[1]) / DAY) for row in table(path, "website_rollups_minute"))
    assert minutes == [2, 3] and MINUTE_KEEP == 14 * DAY
    assert errors == []


def test_probes_between_gives_one_sites_range_in_time_order_up_to_a_limit(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    write(path, probes((A, B), NOW, 100, 1.0))
    reader = SqliteLogReader(path)
    try:
        found = reader.probes_between(B, NOW + 10, NOW + 50, 1000)
        assert [p.timestamp - NOW for p in found] == [float(n) for n in range(11, 51)]
        assert {p.host for p in found} == {B}
        assert len(reader.probes_between(B, NOW + 10, NOW + 50, 5)) == 5
    finally:
        reader.close()


def hour_rows_recounted(path: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The hour rows as stored, and as `rollups_of` counts the raw probes stored (checks, outcomes, sketch)."""
    with sqlite3.connect(path) as connection:
        stored = connection.execute("SELECT host, start, checks, outcomes, sketch FROM website_rollups_hour "
                                     "ORDER BY host, start").fetchall()
        raw = [probe_from_row(row) for row in connection.execute(
            f"SELECT {select_columns(connection, 'website_monitoring')} FROM website_monitoring")]
    counted = [(r.host, int(r.start), r.checks, encode_outcomes(r.outcomes), r.sketch.encode())
               for r in rollups_of(raw, HOUR)]
    return stored, counted


def test_an_hour_left_open_by_a_lost_writer_is_counted_whole_by_the_next_one(tmp_path: Path) -> None:
    # A writer's open hour has its counts written with every batch but its sketch and outcomes once a minute
    # (SKETCH_EVERY): a writer killed in between leaves a row whose sketch and outcomes count fewer probes.
    path = tmp_path / "m.db"
    write(path, [])
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        made = probes((A,), NOW, 93, 1.0)
        killed = rollups.OpenRollups()  # its memory goes with it, unflushed
        for probe in made[:90]:  # a batch a second, a minute and a half
            with write_transaction(connection):
                insert_events(connection, [probe])
                killed.add(connection, [probe])
        assert rollups.repair_hours_left_open(connection) == 1  # the next writer's opening, after a restart
        after = rollups.OpenRollups()
        later = made[90:]
        with write_transaction(connection):
            insert_events(connection, later)
            after.add(connection, later)
            after.flush(connection)
    finally:
        connection.close()
    stored, counted = hour_rows_recounted(path)
    assert stored == counted
    assert stored[0][2:4] == (93, "200:63 500:16 timeout:14")


def test_an_hour_read_back_after_a_batch_that_failed_is_counted_whole(tmp_path: Path) -> None:
    # A batch the database was too busy for (or the disk too full) is rolled back, and the writer reads its open
    # buckets back from their rows: an hour's row has its sketch and outcomes of their last encoding only.
    path = tmp_path / "m.db"
    clock = TestScheduler()
    log = SqliteEventLog(path, flush_interval=1.0, busy_timeout=0.05, scheduler=clock)
    made = probes((A,), NOW, 100, 1.0)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        for second, probe in enumerate(made[:90]):  # a batch a second, a minute and a half
            log.append_probe(probe)
            clock.advance_to(second + 1.0)
        holder.execute("BEGIN IMMEDIATE")
        log.append_probe(made[90])
        clock.advance_to(91.0)  # busy: kept, and the buckets forgotten
        holder.execute("COMMIT")
        for second, probe in enumerate(made[91:], start=92):
            log.append_probe(probe)
            clock.advance_to(float(second))
    finally:
        holder.close()
        log.close()
    stored, counted = hour_rows_recounted(path)
    assert stored == counted and stored[0][2] == 100


_KILLED_WRITER = """
import sys, time
from monitoringapp.domain.events import Probe
from monitoringapp.store.sqlite.writer import SqliteEventLog
store = SqliteEventLog(sys.argv[1], flush_interval=0.01)
start = float(sys.argv[2])
for second in range(150):  # two and a half minutes of one hour, a batch each
    store.append_probe(Probe(start + second, "http://a.test/", second % 3 != 0, 200 if second % 3 else 503,
                             1.0 + second))
    deadline = time.monotonic() + 5
    while store.rows_written <= second and time.monotonic() < deadline:
        time.sleep(0.001)
print(store.rows_written, flush=True)
time.sleep(30)
"""


@pytest.mark.slow
def test_a_writer_killed_mid_hour_leaves_hour_rollups_that_agree_with_the_probes_once_restarted(
        tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    start = NOW - 90  # a minute and a half of one hour, then a minute of the next
    writer = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(path), str(start)], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "150"
    finally:
        writer.kill()
        writer.wait(5)
    stored, counted = hour_rows_recounted(path)
    assert [row[2] for row in stored] == [90, 60]
    assert stored != counted, "the open hours' sketches and outcomes were written a while before the kill"
    write(path, [Probe(NOW + 200, A, True, 200, 5.0)])  # the monitor restarted (probing the second hour), stopped
    stored, counted = hour_rows_recounted(path)
    assert stored == counted
    assert [row[2:4] for row in stored] == [(90, "200:60 503:30"), (61, "200:41 503:20")]


def test_an_hour_that_ended_gets_its_sketch_and_outcomes_whole_within_a_minute_not_when_it_closes(
        tmp_path: Path) -> None:
    # An open hour's sketch and outcomes are encoded once a minute, when a probe of it comes: those of its last
    # minute waited for it to close, 2 hours after its end. -w's site page and the API's hourly rollups said
    # "checks 2,021" over codes that added up to 1,941, and their percentiles left those probes out.
    path = tmp_path / "m.db"
    SqliteEventLog(path).close()  # the schema
    writer = rollups.OpenRollups()
    connection = sqlite3.connect(path)
    try:
        for n in range(30):  # the hour's last 30 s, a batch a second
            writer.add(connection, [Probe(NOW + HOUR - 30 + n, A, n % 2 == 0, 200 if n % 2 == 0 else 503, 5.0 + n)])
        for n in range(90):  # the next hour's first minute and a half: none of them is the ended hour's
            writer.add(connection, [Probe(NOW + HOUR + n, A, True, 200, 1.0)])
        row = connection.execute("SELECT checks, outcomes, sketch FROM website_rollups_hour WHERE start = ?",
                                 (int(NOW),)).fetchone()
    finally:
        connection.close()
    assert row[:2] == (30, "200:15 503:15")
    assert ResponseSketch.decode(row[2]).total == 30
