"""The store's schema on a real SQLite file: public tables and columns, version, WAL, refusals that touch nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from monitoringapp.domain.events import AlertTransition, ErrorKind, Probe, TransitionKind
from monitoringapp.domain.timefmt import iso_utc
from monitoringapp.store.log import StoreError
from monitoringapp.store.sqlite.reader import SqliteLogReader
from monitoringapp.store.sqlite.schema import (
    SCHEMA_VERSION,
    WAL_SIZE_LIMIT,
    alert_from_row,
    alert_row,
    insert_events,
    open_existing,
    probe_from_row,
    probe_row,
)
from monitoringapp.store.sqlite.schema import open_for_writing as open_store
from monitoringapp.store.sqlite.writer import SqliteEventLog


def columns(connection: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]


def test_a_new_store_has_the_public_tables_with_their_exact_columns(tmp_path: Path) -> None:
    connection = open_store(tmp_path / "m.db")
    try:
        # The seed's columns first, in the seed's order; those added since after them.
        assert columns(connection, "website_monitoring") == [
            "timestamp", "host", "available", "status", "responseTime", "errorKind", "location", "detail", "id",
            "certificateNotAfter"]
        assert columns(connection, "website_alerts") == [
            "timestamp", "host", "type", "startDate", "endDate", "availability", "location", "detail",
            "transitionId", "id"]
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        indexes = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                                        "AND name NOT LIKE 'sqlite_%'")}
        assert indexes == {"website_monitoring_by_time", "website_alerts_by_host", "website_alerts_by_transition"}
    finally:
        connection.close()


def test_the_wal_a_reader_held_open_long_is_cut_back_once_the_writer_starts_it_again(tmp_path: Path) -> None:
    # The -wal keeps the size of its longest run between two restarts: a monitor read by -w and a notifier met a
    # longer one now and then, and its -wal only ever grew (4.0 to 4.8 MB in 30 minutes, in steps).
    path = tmp_path / "m.db"
    writer = open_store(path)
    writer.execute("CREATE TABLE pad (b BLOB)")
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM pad").fetchone()  # a snapshot that holds every frame after it in the -wal
    for _ in range(12):
        writer.execute("INSERT INTO pad VALUES (zeroblob(1024 * 1024))")
    wal = Path(f"{path}-wal")
    assert wal.stat().st_size > WAL_SIZE_LIMIT
    reader.execute("COMMIT")
    for _ in range(3):  # a checkpoint of all of it, then a write that starts the -wal again from its beginning
        writer.execute("INSERT INTO pad VALUES (zeroblob(1024))")
        writer.execute("PRAGMA wal_checkpoint(PASSIVE)")
    assert wal.stat().st_size <= WAL_SIZE_LIMIT
    reader.close()
    writer.close()


def test_opening_twice_keeps_the_rows(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    connection = open_store(path)
    insert_events(connection, [Probe(1.0, "h", True, 200, 1.0)])
    connection.close()
    again = open_store(path)
    try:
        assert again.execute("SELECT count(*) FROM website_monitoring").fetchone()[0] == 1
    finally:
        again.close()


def test_the_alert_table_admits_other_kinds_and_a_restart_reads_only_alerts_and_recoveries(tmp_path: Path) -> None:
    # Later kinds (a newer version's) share the table, availability NULL where it has no meaning; this version
    # reads past them, and a site's alert state is its latest alert or recovery.
    path = tmp_path / "m.db"
    alert = AlertTransition(10.0, "http://a/", TransitionKind.ALERT, 0.5, start=10.0)
    connection = open_store(path)
    insert_events(connection, [], [alert])
    connection.execute("INSERT INTO website_alerts (timestamp, host, type, startDate, transitionId) "
                       "VALUES ('1970-01-01T00:00:20.000Z', 'http://a/', 'a-later-kind', '1970-01-02T00:00:00.000Z', "
                       "'x')")
    connection.close()
    log = SqliteEventLog(path)
    try:
        assert log.last_transitions() == {"http://a/": alert}
        assert list(log.transitions_since(None).events) == [alert]
    finally:
        log.close()


def test_a_newer_schema_version_is_refused_and_the_file_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    connection = open_store(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match=rf"schema version {SCHEMA_VERSION + 1} is newer"):
        open_store(path)
    assert path.read_bytes() == before


def test_a_file_that_is_not_a_database_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="cannot use as a monitoringApp database"):
        open_store(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        open_store(tmp_path / "nowhere" / "m.db")
    assert list(tmp_path.iterdir()) == []


def test_rows_round_trip_to_the_same_events() -> None:
    probe = Probe(1_764_000_000.125, "http://a.test/", False, None, None, ErrorKind.TIMEOUT)
    assert probe_row(probe) == ("2025-11-24T16:00:00.125Z", "http://a.test/", 0, None, None, "timeout", "local", None,
                                None)
    assert probe_from_row(probe_row(probe)) == probe
    checked = Probe(1_764_000_000.125, "https://a.test/", False, 200, 3.5, ErrorKind.CONDITION,
                    detail='$.status is "x"', certificate_expiry=1_765_000_000.0)
    assert probe_row(checked)[-2:] == ('$.status is "x"', "2025-12-06T05:46:40.000Z")
    assert probe_from_row(probe_row(checked)) == checked
    warning = AlertTransition(1_764_000_000.125, "https://a.test/", TransitionKind.CERTIFICATE, None,
                              start=1_765_000_000.0, end=1_764_395_200.0, detail="expires in 11d13h")
    assert alert_row(warning)[2:6] == ("certificate", "2025-12-06T05:46:40.000Z", "2025-11-29T05:46:40.000Z", None)
    assert alert_from_row(alert_row(warning)) == warning
    recovery = AlertTransition(1_764_000_060.5, "http://a.test/", TransitionKind.RECOVERY, 0.8,
                               start=1_764_000_000.125, end=1_764_000_060.5)
    assert alert_from_row(alert_row(recovery)) == recovery
    alert = AlertTransition(1_764_000_000.125, "http://a.test/", TransitionKind.ALERT, 2 / 3, start=1_764_000_000.125)
    assert alert_row(alert)[2:] == ("alert", "2025-11-24T16:00:00.125Z", None, 2 / 3, "local", None, alert.id)


def test_iso_timestamps_are_fixed_width_so_text_order_is_time_order() -> None:
    moments = [0.0, 9.9995, 10.0, 59.999, 1_000_000_000.0, 1_764_000_000.001, 1_764_000_000.01, 4_102_444_799.999]
    texts = [iso_utc(m) for m in moments]
    assert {len(t) for t in texts} == {24}
    assert sorted(texts) == texts
    assert texts[1] == "1970-01-01T00:00:10.000Z"  # rounding carries into the seconds


def test_a_database_made_by_the_seed_app_gains_the_new_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "monitoring.db"
    with sqlite3.connect(path) as seed:
        seed.execute("CREATE TABLE website_monitoring (timestamp TEXT, host TEXT, available INTEGER, "
                     "status INTEGER, responseTime REAL)")
        seed.execute("CREATE TABLE website_alerts (timestamp TEXT, host TEXT, type TEXT, startDate TEXT, "
                     "endDate TEXT, availability REAL)")
        seed.execute("INSERT INTO website_monitoring VALUES "
                     "('2019-05-06 12:00:00.123456', 'http://a/', 1, 200, 12.0)")
    seed.close()
    connection = open_store(path)
    try:
        assert columns(connection, "website_monitoring")[5:] == ["errorKind", "location", "detail", "id",
                                                                 "certificateNotAfter"]
        insert_events(connection, [Probe(1.0, "http://a/", False, None, None, ErrorKind.DNS)])
        stored = connection.execute("SELECT * FROM website_monitoring ORDER BY rowid").fetchall()
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        connection.close()
    assert stored == [("2019-05-06 12:00:00.123456", "http://a/", 1, 200, 12.0, None, "local", None, 1, None),
                      ("1970-01-01T00:00:01.000Z", "http://a/", 0, None, None, "dns", "local", None, 2, None)]
    assert probe_from_row((*stored[0][:8], None)).timestamp == 1557144000.123456  # the seed's text still reads back


ROUND_ONE_SCHEMA = """
CREATE TABLE website_monitoring (timestamp TEXT NOT NULL, host TEXT NOT NULL, available INTEGER NOT NULL,
    status INTEGER, responseTime REAL, errorKind TEXT);
CREATE INDEX website_monitoring_by_time ON website_monitoring (timestamp);
CREATE TABLE website_alerts (timestamp TEXT NOT NULL, host TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('alert', 'recovery')), startDate TEXT NOT NULL, endDate TEXT,
    availability REAL NOT NULL);
CREATE INDEX website_alerts_by_host ON website_alerts (host, timestamp);
PRAGMA user_version = 1;
"""


def test_a_round_one_database_keeps_every_row_under_its_rowid_as_its_id_and_alerts_get_their_live_ids(
        tmp_path: Path) -> None:
    path = tmp_path / "monitoring.db"
    with sqlite3.connect(path) as old:
        old.executescript(ROUND_ONE_SCHEMA)
        old.executemany("INSERT INTO website_monitoring VALUES (?, ?, ?, ?, ?, ?)",
                        [(f"2026-11-20T00:00:0{n}.000Z", "http://a/", 1, 200, 1.0, None) for n in range(5)])
        old.execute("DELETE FROM website_monitoring WHERE rowid IN (1, 2)")  # a purge: ids 3..5 are left
        old.execute("INSERT INTO website_alerts VALUES ('2026-11-20T00:00:09.500Z', 'http://a/', 'alert', "
                    "'2026-11-20T00:00:09.500Z', NULL, 0.5)")
    old.close()
    log = SqliteEventLog(path)
    try:
        page = log.probes_since(None)
        (alert,) = log.transitions_since(None).events
    finally:
        log.close()
    assert [p.timestamp % 10 for p in page.events] == [2.0, 3.0, 4.0]
    assert page.cursor.position == 5  # the last row kept its rowid: a reader's cursor still means the same
    with sqlite3.connect(path) as check:
        (stored_id,) = check.execute("SELECT transitionId FROM website_alerts").fetchone()
        # The next row follows the highest id ever given, not the highest left.
        check.execute("DELETE FROM website_monitoring")
        insert_events(check, [Probe(1.0, "http://a/", True, 200, 1.0)])
        assert check.execute("SELECT id FROM website_monitoring").fetchall() == [(6,)]
    assert stored_id == alert.id == AlertTransition(alert.timestamp, "http://a/", TransitionKind.ALERT, 0.5,
                                                     start=alert.start).id


def test_another_applications_database_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    other.commit()
    other.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"another application's database \(tables invoices\)"):
        open_store(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize(("content", "message"), [
    (None, "database not found"),
    (b"not a database at all, just text" * 40, "file is not a database"),
])
def test_open_existing_never_creates_or_accepts_a_foreign_file(tmp_path: Path, content: bytes | None,
                                                                      message: str) -> None:
    path = tmp_path / "m.db"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(StoreError, match=message):
        open_existing(path)
    assert (path.read_bytes() if content is not None else path.exists()) == (content or False)


def test_a_database_busy_past_the_timeout_is_said_busy_for_writing_and_purging(tmp_path: Path) -> None:
    # Rollback-journal mode (a file before a monitor migrates it) under another process's exclusive write.
    path = tmp_path / "m.db"
    open_store(path).close()
    with sqlite3.connect(path) as journal:
        journal.execute("PRAGMA journal_mode=DELETE")
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        for opening in (lambda: open_existing(path, timeout=0.05), lambda: open_store(path, timeout=0.05)):
            with pytest.raises(StoreError) as busy:
                opening()
            assert str(busy.value) == f"{path}: busy (locked by another process); try again"
    finally:
        holder.close()


def test_a_wal_database_another_process_is_writing_past_the_timeout_is_said_busy_for_writing(
        tmp_path: Path) -> None:
    # A monitor's file (WAL) held by another writer (the sqlite3 shell's BEGIN IMMEDIATE, a long VACUUM) as a
    # monitor starts: its migration waits for the lock, and the file is not to be called unusable.
    path = tmp_path / "m.db"
    open_store(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreError) as busy:
            open_store(path, timeout=0.05)
        assert str(busy.value) == f"{path}: busy (locked by another process); try again"
    finally:
        holder.close()


def test_a_schema_3_file_gains_the_certificate_column_keeps_every_row_and_reads_before_it_does(
        tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE website_monitoring (timestamp TEXT NOT NULL, host TEXT NOT NULL, available INTEGER "
                    "NOT NULL, status INTEGER, responseTime REAL, errorKind TEXT, location TEXT NOT NULL DEFAULT "
                    "'local', detail TEXT, id INTEGER PRIMARY KEY AUTOINCREMENT)")
        old.execute("CREATE TABLE website_alerts (timestamp TEXT NOT NULL, host TEXT NOT NULL, type TEXT NOT NULL, "
                    "startDate TEXT NOT NULL, endDate TEXT, availability REAL, location TEXT NOT NULL DEFAULT "
                    "'local', detail TEXT, transitionId TEXT NOT NULL, id INTEGER PRIMARY KEY AUTOINCREMENT)")
        old.executemany("INSERT INTO website_monitoring (timestamp, host, available, status, responseTime) "
                        "VALUES (?, 'http://a/', 1, 200, 1.0)", [(iso_utc(float(n)),) for n in range(3)])
        old.execute("PRAGMA user_version = 3")
    reader = SqliteLogReader(path)
    try:  # a reader never alters a file to read it: the missing column reads as NULL
        assert [p.certificate_expiry for p in reader.probes_since(None).events] == [None, None, None]
    finally:
        reader.close()
    connection = open_store(path)
    try:
        assert columns(connection, "website_monitoring")[-1] == "certificateNotAfter"
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert connection.execute("SELECT count(*), max(id) FROM website_monitoring").fetchone() == (3, 3)
    finally:
        connection.close()


def test_a_database_with_a_second_hard_link_is_refused_for_writing_and_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    open_store(path).close()
    other = tmp_path / "other-name.db"
    other.hardlink_to(path)
    before = path.read_bytes()
    refusal = (r": has 2 hard links; SQLite keeps its -wal and -shm by name, so writing through more than one "
               r"would damage it \(remove the other links, or write to a copy\)$")
    for name in (path, other):
        with pytest.raises(StoreError, match=rf"^{name}{refusal}"):
            SqliteEventLog(name)
        with pytest.raises(StoreError, match=rf"^{name}{refusal}"):
            open_existing(name)  # a purge's connection
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.db", "other-name.db"]
